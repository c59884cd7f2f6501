//! The format version every `model.json` carries. A directory written before versions were
//! recorded has none and reads as version 0 (its layout is version 1's); a newer version than
//! this build knows is refused by name, before any of its fields are trusted.

use std::path::Path;

use crate::Error;

/// The `model.json` layout this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The card's `format_version` (0 when absent), or an error naming the file and the version
/// when it is not one this build reads.
pub fn check_format_version(path: &Path, card: &serde_json::Value) -> Result<u32, Error> {
    let version = match card.get("format_version") {
        None => 0,
        Some(v) => v.as_u64().and_then(|v| u32::try_from(v).ok()).ok_or_else(|| {
            Error::Format(format!(
                "{}: format_version {v}: expected a whole number",
                path.display()
            ))
        })?,
    };
    if version > FORMAT_VERSION {
        return Err(Error::Format(format!(
            "{}: model format version {version}, but this rnnlab reads versions up to {FORMAT_VERSION}; \
             load it with a newer rnnlab, or retrain",
            path.display()
        )));
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_is_version_zero_and_newer_versions_are_refused_by_name() {
        let p = Path::new("m/model.json");
        assert_eq!(check_format_version(p, &json!({"kind": "nb"})).unwrap(), 0);
        assert_eq!(check_format_version(p, &json!({"format_version": 1})).unwrap(), 1);
        let e = check_format_version(p, &json!({"format_version": 7}))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("m/model.json") && e.contains("version 7") && e.contains("up to 1"),
            "{e}"
        );
        for bad in [json!("1"), json!(-1), json!(1.5), json!(1u64 << 40)] {
            let e = check_format_version(p, &json!({ "format_version": bad }))
                .unwrap_err()
                .to_string();
            assert!(e.contains("format_version"), "{e}");
        }
    }
}
