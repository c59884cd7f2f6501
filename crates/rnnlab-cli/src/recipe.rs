//! Recipes as files: `--config FILE.toml` for `train`, `cv` and `experiment`, whose keys are the
//! command's long flags (`hidden = 128`, `text-column = "tweet"`; `text_column` works too, and
//! tables such as `[neural]` only group keys), and `recipe.toml`, the flags a trained model
//! directory was made with, in the same form, so `rnnlab train --config DIR/recipe.toml --out
//! NEW` repeats the run.
//!
//! The file is read before clap parses anything: its keys become flags placed right after the
//! command's name, so a flag given on the command line comes later and wins
//! (`args_override_self`). A key that is not a flag of the command is an error naming the file.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::OnceLock;

use clap::parser::ValueSource;

/// The commands that take `--config`.
pub const COMMANDS: [&str; 3] = ["train", "cv", "experiment"];

/// Flags that say where a run writes or how it treats what is there, not what it computes;
/// left out of `recipe.toml`.
const NOT_RECIPE: [&str; 5] = ["out", "config", "overwrite", "resume", "help"];

/// `args` with the flags of a `--config FILE` spliced in after the command's name. Errors name
/// the file and the key.
pub fn expand(args: Vec<OsString>, cli: &clap::Command) -> Result<Vec<OsString>, String> {
    let Some(at) = args.iter().skip(1).position(|a| {
        a.to_str()
            .is_some_and(|s| !s.starts_with('-') && cli.find_subcommand(s).is_some())
    }) else {
        return Ok(args);
    };
    let at = at + 1;
    let name = args[at].to_string_lossy().to_string();
    if !COMMANDS.contains(&name.as_str()) {
        return Ok(args);
    }
    let mut rest = Vec::new();
    let mut files = Vec::new();
    let mut it = args[at + 1..].iter();
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--config") => match it.next() {
                Some(f) => files.push(f.clone()),
                None => return Err("--config needs a file (a TOML recipe)".into()),
            },
            Some(s) if s.starts_with("--config=") => files.push(OsString::from(&s["--config=".len()..])),
            Some("--") => {
                rest.push(a.clone());
                rest.extend(it.by_ref().cloned());
            }
            _ => rest.push(a.clone()),
        }
    }
    if name == "experiment" && rest.iter().any(|a| a == "--resume") {
        files.insert(0, resumed_recipe(&rest)?);
    }
    let sub = cli.find_subcommand(&name).expect("found above");
    // A flag on the command line replaces the file's (clap would append a list flag's values).
    let given: Vec<&str> = rest
        .iter()
        .filter_map(|a| a.to_str()?.strip_prefix("--"))
        .map(|a| a.split('=').next().unwrap_or(a))
        .collect();
    let mut spliced = Vec::new();
    for f in &files {
        spliced.extend(flags_of(Path::new(f), sub)?.into_iter().filter(|flag| {
            let name = flag.to_str().and_then(|f| f.strip_prefix("--")).unwrap_or_default();
            !given.contains(&name.split('=').next().unwrap_or(name))
        }));
    }
    let mut out = args[..=at].to_vec();
    out.extend(spliced);
    out.extend(rest);
    Ok(out)
}

/// `experiment --resume --out DIR` continues the run recorded in `DIR/recipe.toml`: its flags
/// come first, as a `--config` file's would.
fn resumed_recipe(rest: &[OsString]) -> Result<OsString, String> {
    let mut out = None;
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--out") => out = it.next().cloned(),
            Some(s) if s.starts_with("--out=") => out = Some(OsString::from(&s["--out=".len()..])),
            _ => {}
        }
    }
    let dir = out.ok_or("--resume needs --out DIR, the folder of the experiment to continue")?;
    let recipe = Path::new(&dir).join("recipe.toml");
    if !recipe.is_file() {
        return Err(format!(
            "--resume: {} not found; --resume continues a folder written by `rnnlab experiment`",
            recipe.display()
        ));
    }
    Ok(recipe.into_os_string())
}

/// The flags a recipe file holds, checked against `sub`'s.
fn flags_of(path: &Path, sub: &clap::Command) -> Result<Vec<OsString>, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("--config {shown}: {e}"))?;
    let table: toml::Table = text.parse().map_err(|e| format!("{shown}: not a TOML recipe: {e}"))?;
    let mut flat = Vec::new();
    for (key, value) in table {
        match value {
            toml::Value::Table(group) => flat.extend(group),
            v => flat.push((key, v)),
        }
    }
    let mut out = Vec::new();
    for (key, value) in flat {
        let long = key.replace('_', "-");
        let arg = sub
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()) && !a.is_hide_set())
            .filter(|_| long != "config")
            .ok_or_else(|| format!("{shown}: {key:?} is not a flag of `rnnlab {}`", sub.get_name()))?;
        let switch = !arg.get_action().takes_values();
        let value = match value {
            toml::Value::Boolean(b) if switch => {
                if b {
                    out.push(OsString::from(format!("--{long}")));
                }
                continue;
            }
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(x) => x.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s.clone()),
                    toml::Value::Integer(i) => Ok(i.to_string()),
                    toml::Value::Float(x) => Ok(x.to_string()),
                    toml::Value::Boolean(b) => Ok(b.to_string()),
                    _ => Err(format!("{shown}: {key}: a list of plain values only")),
                })
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
            _ => return Err(format!("{shown}: {key}: expected a string, number, boolean or list")),
        };
        if switch {
            return Err(format!("{shown}: {key} is a switch: write `{key} = true`"));
        }
        out.push(OsString::from(format!("--{long}={value}")));
    }
    Ok(out)
}

static RECIPE: OnceLock<String> = OnceLock::new();

/// Keeps the flags the run was given (command line and `--config` alike) for [`recipe`].
pub fn remember(matches: &clap::ArgMatches, cli: &clap::Command) {
    let Some((name, m)) = matches.subcommand() else {
        return;
    };
    let Some(sub) = cli.find_subcommand(name) else {
        return;
    };
    let _ = RECIPE.set(to_toml(m, sub));
}

/// The run's flags as a recipe file, for the model directory (`recipe.toml`).
pub fn recipe() -> Option<&'static str> {
    RECIPE.get().map(String::as_str)
}

/// The flags given in `m` as TOML lines (`key = value`), in the command's order.
fn to_toml(m: &clap::ArgMatches, sub: &clap::Command) -> String {
    let mut s = format!(
        "# The flags of this run of `rnnlab {}`; repeat it with --config.\n",
        sub.get_name()
    );
    for arg in sub.get_arguments() {
        let id = arg.get_id().as_str();
        let Some(long) = arg.get_long() else { continue };
        if NOT_RECIPE.contains(&long) || m.value_source(id) != Some(ValueSource::CommandLine) {
            continue;
        }
        let Some(raw) = m.get_raw(id) else { continue };
        let values: Vec<String> = raw.map(|v| v.to_string_lossy().to_string()).collect();
        let value = values.join(",");
        let literal = if matches!(value.as_str(), "true" | "false") || value.parse::<f64>().is_ok_and(f64::is_finite) {
            value
        } else {
            serde_json::to_string(&value).expect("a string")
        };
        let _ = writeln!(s, "{long} = {literal}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction, Command};

    fn cli() -> Command {
        Command::new("rnnlab").subcommand(
            Command::new("train")
                .args_override_self(true)
                .arg(Arg::new("hidden").long("hidden"))
                .arg(Arg::new("text_column").long("text-column"))
                .arg(Arg::new("ngram_range").long("ngram-range"))
                .arg(Arg::new("stem").long("stem").action(ArgAction::SetTrue))
                .arg(Arg::new("out").long("out"))
                .arg(Arg::new("config").long("config")),
        )
    }

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn a_recipe_file_becomes_flags_that_the_command_line_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("r.toml");
        std::fs::write(
            &f,
            "hidden = 32\n[data]\ntext_column = \"tweet\"\nngram-range = [1, 2]\nstem = true\n",
        )
        .unwrap();
        let argv = expand(
            os(&["rnnlab", "train", "--config", f.to_str().unwrap(), "--hidden", "64"]),
            &cli(),
        )
        .unwrap();
        let m = cli().try_get_matches_from(&argv).unwrap();
        let (_, t) = m.subcommand().unwrap();
        assert_eq!(
            t.get_one::<String>("hidden").unwrap(),
            "64",
            "the command line wins: {argv:?}"
        );
        assert!(
            !argv.iter().any(|a| a == "--hidden=32"),
            "the file's value is left out, not overridden (a list flag would append): {argv:?}"
        );
        assert_eq!(t.get_one::<String>("text_column").unwrap(), "tweet");
        assert_eq!(t.get_one::<String>("ngram_range").unwrap(), "1,2");
        assert!(t.get_flag("stem"));
        // The recipe written back reads as the same flags.
        let written = to_toml(t, cli().find_subcommand("train").unwrap());
        assert!(
            written.contains("hidden = 64\n") && written.contains("text-column = \"tweet\"\n"),
            "{written}"
        );
        std::fs::write(&f, &written).unwrap();
        let again = expand(os(&["rnnlab", "train", "--config", f.to_str().unwrap()]), &cli()).unwrap();
        let m2 = cli().try_get_matches_from(&again).unwrap();
        assert_eq!(
            to_toml(m2.subcommand().unwrap().1, cli().find_subcommand("train").unwrap()),
            written
        );
    }

    #[test]
    fn unknown_keys_and_bad_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("r.toml");
        for (text, want) in [
            ("hiden = 3", "\"hiden\" is not a flag of `rnnlab train`"),
            ("config = \"x.toml\"", "is not a flag"),
            ("hidden = [{ a = 1 }]", "hidden"),
            ("hidden = ", "not a TOML recipe"),
            ("stem = \"yes\"", "switch"),
        ] {
            std::fs::write(&f, text).unwrap();
            let e = expand(os(&["rnnlab", "train", "--config", f.to_str().unwrap()]), &cli()).unwrap_err();
            assert!(e.contains("r.toml") && e.contains(want), "{text}: {e}");
        }
        let e = expand(os(&["rnnlab", "train", "--config"]), &cli()).unwrap_err();
        assert!(e.contains("--config"), "{e}");
        let missing = expand(os(&["rnnlab", "train", "--config", "/no/such.toml"]), &cli()).unwrap_err();
        assert!(missing.contains("/no/such.toml"), "{missing}");
        // Other commands and no command pass through untouched.
        let plain = os(&["rnnlab", "predict", "--config", "x"]);
        assert_eq!(expand(plain.clone(), &cli()).unwrap(), plain);
    }
}
