//! Data sets: reading CSV and Parquet tables with polars, the named data sets of
//! `data/datasets.toml`, the data folder, and the fixed train / val / test split.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Deserialize;

use crate::{Error, Lang};

/// The registry of named data sets, embedded at build time.
pub const DATASETS_TOML: &str = include_str!("../../../data/datasets.toml");

/// One named data set, as `datasets.toml` describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub lang: Lang,
    pub files: Vec<String>,
    pub split: String,
    pub id_column: String,
    pub text_column: String,
    pub label_column: String,
    #[serde(default)]
    pub positive_label: Option<String>,
}

#[derive(Deserialize)]
struct Registry {
    dataset: Vec<DatasetSpec>,
    #[serde(default)]
    treebank: Vec<crate::conllu::TreebankSpec>,
}

/// All named treebanks (CoNLL-U data sets for per-word tasks).
pub fn treebanks() -> Vec<crate::conllu::TreebankSpec> {
    toml::from_str::<Registry>(DATASETS_TOML)
        .expect("data/datasets.toml is valid (checked by a test)")
        .treebank
}

/// All named data sets.
pub fn registry() -> Vec<DatasetSpec> {
    toml::from_str::<Registry>(DATASETS_TOML)
        .expect("data/datasets.toml is valid (checked by a test)")
        .dataset
}

/// The named data set `name`, or an error that lists the known names.
pub fn find_dataset(name: &str) -> Result<DatasetSpec, Error> {
    let all = registry();
    let names: Vec<String> = all
        .iter()
        .map(|d| d.name.clone())
        .chain(treebanks().into_iter().map(|t| format!("{} (tagging)", t.name)))
        .collect();
    all.into_iter().find(|d| d.name == name).ok_or_else(|| {
        Error::Data(format!(
            "unknown data set {name:?}; known data sets: {}",
            names.join(", ")
        ))
    })
}

/// The data folder: `--data-dir` if given, else `RNNLAB_DATA_DIR`. Relative paths are
/// relative to the current directory.
pub fn resolve_data_dir(flag: Option<&Path>) -> Result<PathBuf, Error> {
    let dir = match flag {
        Some(d) => d.to_path_buf(),
        None => match std::env::var_os("RNNLAB_DATA_DIR") {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => {
                return Err(Error::Data(
                    "a named data set needs the data folder: pass --data-dir DIR or set RNNLAB_DATA_DIR".into(),
                ))
            }
        },
    };
    if !dir.is_dir() {
        return Err(Error::Data(format!("data folder {} does not exist", dir.display())));
    }
    Ok(dir)
}

/// The data folder for this workspace's tests and benchmarks: `RNNLAB_DATA_DIR`, else
/// `shared/data` beside the workspace root (`manifest_dir` is the caller's
/// `CARGO_MANIFEST_DIR`). When it is missing the caller should skip, except under `CI=true`,
/// where this panics: CI must never skip the tests on real data.
pub fn data_dir_for_tests(manifest_dir: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("RNNLAB_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            // The workspace root is the first ancestor with a `crates` folder.
            let start = Path::new(manifest_dir);
            let root = start.ancestors().find(|a| a.join("crates").is_dir()).unwrap_or(start);
            root.join("../shared/data")
        }
    };
    if dir.join("twitter-hate-speech/train.csv").is_file() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but the data folder {} is missing", dir.display());
    }
    eprintln!(
        "notice: skipping, no data folder at {} (set RNNLAB_DATA_DIR)",
        dir.display()
    );
    None
}

/// Which part of the fixed split a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Val,
    Test,
}

impl Split {
    pub fn parse(s: &str) -> Option<Split> {
        match s.trim() {
            "train" => Some(Split::Train),
            "val" | "valid" | "validation" => Some(Split::Val),
            "test" => Some(Split::Test),
            _ => None,
        }
    }
}

/// How a CSV file is written: its field delimiter and its character encoding.
#[derive(Debug, Clone, Copy)]
pub struct CsvFormat {
    pub delimiter: u8,
    pub encoding: &'static encoding_rs::Encoding,
}

impl Default for CsvFormat {
    fn default() -> Self {
        CsvFormat {
            delimiter: b',',
            encoding: encoding_rs::UTF_8,
        }
    }
}

impl CsvFormat {
    /// `delimiter` (one ASCII character) and an encoding named as the WHATWG Encoding Standard
    /// names it (`utf-8`, `cp1251` = `windows-1251`, `koi8-r`, `utf-16le`, `latin1`, ...).
    pub fn new(delimiter: char, encoding: &str) -> Result<Self, Error> {
        if !delimiter.is_ascii() {
            return Err(Error::Data(format!(
                "--delimiter {delimiter:?} must be one ASCII character"
            )));
        }
        let encoding = encoding_rs::Encoding::for_label(encoding.trim().as_bytes()).ok_or_else(|| {
            Error::Data(format!(
                "--encoding {encoding:?}: not an encoding name (utf-8, cp1251, koi8-r, utf-16le, latin1, ...)"
            ))
        })?;
        Ok(CsvFormat {
            delimiter: delimiter as u8,
            encoding,
        })
    }
}

/// Above this share of rows with replacement characters a file is refused: it is in another
/// encoding, and training on the damage would be silent garbage.
const MOSTLY_UNDECODABLE: f64 = 0.5;

/// A warning when more than 1 % of `rows` (but not most) needed replacement characters: some
/// damage is normal in scraped tweets, much of it means a wrong `--encoding`.
pub fn encoding_warning(source: &str, invalid_rows: usize, rows: usize) -> Option<String> {
    (invalid_rows * 100 > rows).then(|| {
        format!(
            "warning: {source}: {invalid_rows} of {rows} rows are not valid text in the expected encoding \
             (bytes replaced by U+FFFD); if the file is in another encoding, give it with --encoding \
             (cp1251, koi8-r, ...)"
        )
    })
}

/// A table read from CSV or Parquet, every column as text, and what reading it found.
pub struct Table {
    pub path: PathBuf,
    pub frame: DataFrame,
    /// Rows where bytes that are not text in the file's encoding were replaced by U+FFFD.
    pub invalid_utf8_rows: usize,
}

fn polars_err(path: &Path, e: PolarsError) -> Error {
    Error::Data(format!("{}: {e}", path.display()))
}

/// A CSV that polars refused: the first malformed record by our own scan (line, row and
/// column), else polars' own first line (its remedies name Python arguments).
fn csv_err(path: &Path, delimiter: u8, e: PolarsError) -> Error {
    let found = std::fs::read(path)
        .ok()
        .and_then(|bytes| find_csv_problem(&bytes, delimiter));
    let message = match found {
        Some(problem) => problem.to_string(),
        None => e.to_string().lines().next().unwrap_or_default().trim().to_string(),
    };
    Error::Data(format!("{}: {message}", path.display()))
}

/// Where a CSV file breaks the quoting and field-count rules (RFC 4180, as polars reads it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvProblem {
    /// 1-based physical line where the record starts.
    pub line: usize,
    /// 1-based data row (the header is row 0).
    pub row: usize,
    /// 1-based field.
    pub column: usize,
    pub what: CsvProblemKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvProblemKind {
    /// A quoted field runs to the end of the file.
    UnclosedQuote,
    /// A record has another number of fields than the header.
    FieldCount { found: usize, header: usize },
}

impl std::fmt::Display for CsvProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = format!("line {} (row {}), column {}", self.line, self.row, self.column);
        match self.what {
            CsvProblemKind::UnclosedQuote => {
                write!(
                    f,
                    "{at}: a quoted field is never closed (a stray `\"`? write `\"\"` inside quotes)"
                )
            }
            CsvProblemKind::FieldCount { found, header } => {
                let hint = if found > header {
                    "an unquoted delimiter in a text?"
                } else {
                    "a missing field, or a line break outside quotes?"
                };
                write!(f, "{at}: {found} fields where the header has {header} ({hint})")
            }
        }
    }
}

/// Scans `bytes` as CSV and returns the first record that is malformed; `None` when every
/// record is well formed. Blank lines are skipped, as polars does.
pub fn find_csv_problem(bytes: &[u8], delimiter: u8) -> Option<CsvProblem> {
    let mut header_fields = None;
    let (mut line, mut row) = (1usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        let start_line = line;
        // A blank line is no record.
        if bytes[i] == b'\n' || (bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n')) {
            i += if bytes[i] == b'\r' { 2 } else { 1 };
            line += 1;
            continue;
        }
        let mut fields = 1;
        loop {
            // One field starts at `i`.
            if bytes.get(i) == Some(&b'"') {
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => {
                            return Some(CsvProblem {
                                line: start_line,
                                row,
                                column: fields,
                                what: CsvProblemKind::UnclosedQuote,
                            })
                        }
                        Some(b'"') if bytes.get(i + 1) == Some(&b'"') => i += 2,
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\n') => {
                            line += 1;
                            i += 1;
                        }
                        Some(_) => i += 1,
                    }
                }
            }
            // The unquoted rest of the field.
            while i < bytes.len() && bytes[i] != delimiter && bytes[i] != b'\n' {
                i += 1;
            }
            if i < bytes.len() && bytes[i] == delimiter {
                fields += 1;
                i += 1;
                continue;
            }
            break;
        }
        i += 1; // the newline, if any
        line += 1;
        match header_fields {
            None => header_fields = Some(fields),
            Some(header) if fields != header => {
                return Some(CsvProblem {
                    line: start_line,
                    row,
                    column: header.min(fields) + 1,
                    what: CsvProblemKind::FieldCount { found: fields, header },
                })
            }
            Some(_) => {}
        }
        row += 1;
    }
    None
}

/// Reads a CSV (`format`'s delimiter and encoding, header row, quoted multi-line fields,
/// undecodable bytes replaced) or Parquet file (by extension). CSV columns are all read as
/// text, so 18-digit ids and labels keep their exact spelling. A file whose rows are mostly
/// undecodable, or whose header names a column twice, is an error.
pub fn read_table(path: &Path, format: &CsvFormat) -> Result<Table, Error> {
    let delimiter = format.delimiter;
    check_data_file(path)?;
    let is_parquet = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    let frame = if is_parquet {
        let file = File::open(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        ParquetReader::new(file).finish().map_err(|e| polars_err(path, e))?
    } else {
        check_header(path, delimiter, format.encoding)?;
        let options = CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .map_parse_options(|o| o.with_separator(delimiter).with_encoding(CsvEncoding::LossyUtf8));
        if format.encoding == encoding_rs::UTF_8 {
            options
                .try_into_reader_with_file_path(Some(path.to_path_buf()))
                .map_err(|e| csv_err(path, delimiter, e))?
                .finish()
                .map_err(|e| csv_err(path, delimiter, e))?
        } else {
            let bytes = std::fs::read(path).map_err(|e| Error::Io {
                path: path.to_path_buf(),
                source: e,
            })?;
            let (text, _, _) = format.encoding.decode(&bytes);
            let utf8 = std::io::Cursor::new(text.into_owned().into_bytes());
            options
                .into_reader_with_file_handle(utf8)
                .finish()
                .map_err(|e| csv_err(path, delimiter, e))?
        }
    };
    let invalid = damaged_rows(&frame);
    refuse_mostly_undecodable(path, invalid, frame.height(), format)?;
    Ok(Table {
        path: path.to_path_buf(),
        frame,
        invalid_utf8_rows: invalid,
    })
}

/// A file refused because most of its rows needed replacement characters: it is in another
/// encoding than `format`'s.
pub(crate) fn refuse_mostly_undecodable(
    path: &Path,
    invalid: usize,
    rows: usize,
    format: &CsvFormat,
) -> Result<(), Error> {
    if invalid > 0 && invalid as f64 > MOSTLY_UNDECODABLE * rows as f64 {
        return Err(Error::Data(format!(
            "{}: {invalid} of {rows} rows are not valid {} text: the file is in another encoding; give it \
             with --encoding (cp1251, koi8-r, utf-16le, ...)",
            path.display(),
            format.encoding.name()
        )));
    }
    Ok(())
}

/// Rows of `frame` with a replacement character (U+FFFD) in any text column.
pub(crate) fn damaged_rows(frame: &DataFrame) -> usize {
    let mut damaged = vec![false; frame.height()];
    for col in frame.columns() {
        if let Ok(s) = col.str() {
            for (row, v) in s.iter().enumerate() {
                if v.is_some_and(|v| v.contains('\u{FFFD}')) {
                    damaged[row] = true;
                }
            }
        }
    }
    damaged.iter().filter(|&&d| d).count()
}

/// A path a table is read from must be a regular file: a directory, a device or a missing
/// file is an error that says which.
pub(crate) fn check_data_file(path: &Path) -> Result<(), Error> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => return Err(Error::Data(format!("{}: a directory, not a data file", path.display()))),
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(Error::Data(format!("{}: not a regular file", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Data(format!("{}: no such file", path.display())))
        }
        Err(e) => {
            return Err(Error::Io {
                path: path.to_path_buf(),
                source: e,
            })
        }
    }
    Ok(())
}

/// Refuses a header that names a column twice: which of the two a reader takes is arbitrary.
fn check_header(path: &Path, delimiter: u8, encoding: &'static encoding_rs::Encoding) -> Result<(), Error> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(1 << 20).read_to_end(&mut head))
        .map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
    let (text, _, _) = encoding.decode(&head);
    check_csv_header(path, &text, delimiter)
}

/// Refuses a header (the first line of `text`) that names a column twice.
pub(crate) fn check_csv_header(path: &Path, text: &str, delimiter: u8) -> Result<(), Error> {
    let line = text.lines().next().unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    for name in line.split(delimiter as char) {
        let name = name.trim().trim_matches('"');
        if !name.is_empty() && !seen.insert(name) {
            return Err(Error::Data(format!(
                "{}: line 1: the header names column {name:?} twice",
                path.display()
            )));
        }
    }
    Ok(())
}

/// The values of column `name` as strings (numbers are printed; nulls become `None`).
pub fn column_strings(table: &Table, name: &str) -> Result<Vec<Option<String>>, Error> {
    let col = table.frame.column(name).map_err(|_| {
        let found: Vec<String> = table.frame.get_column_names().iter().map(|c| c.to_string()).collect();
        Error::Data(format!(
            "{}: no column {name:?}; columns found: {}",
            table.path.display(),
            found.join(", ")
        ))
    })?;
    let as_text = col
        .cast(&DataType::String)
        .map_err(|e| Error::Data(format!("{}: column {name:?}: {e}", table.path.display())))?;
    let s = as_text
        .str()
        .map_err(|e| Error::Data(format!("{}: column {name:?}: {e}", table.path.display())))?;
    Ok(s.iter().map(|v| v.map(str::to_string)).collect())
}

/// The values of column `name` as token lists: a list column's items (Parquet), or a text
/// column split on whitespace (CSV); a missing value is an empty list.
pub fn column_token_lists(table: &Table, name: &str) -> Result<Vec<Vec<String>>, Error> {
    let col = table.frame.column(name).map_err(|_| {
        let found: Vec<String> = table.frame.get_column_names().iter().map(|c| c.to_string()).collect();
        Error::Data(format!(
            "{}: no column {name:?}; columns found: {}",
            table.path.display(),
            found.join(", ")
        ))
    })?;
    if let Ok(lists) = col.list() {
        return (0..lists.len())
            .map(|i| match lists.get_as_series(i) {
                None => Ok(Vec::new()),
                Some(series) => {
                    let text = series
                        .cast(&DataType::String)
                        .map_err(|e| Error::Data(format!("{}: column {name:?}: {e}", table.path.display())))?;
                    let s = text
                        .str()
                        .map_err(|e| Error::Data(format!("{}: column {name:?}: {e}", table.path.display())))?;
                    Ok(s.iter().map(|v| v.unwrap_or_default().to_string()).collect())
                }
            })
            .collect();
    }
    Ok(column_strings(table, name)?
        .into_iter()
        .map(|v| v.unwrap_or_default().split_whitespace().map(String::from).collect())
        .collect())
}

/// A labelled data set in memory, one entry per row, with its split.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub name: String,
    pub lang: Option<Lang>,
    pub ids: Vec<String>,
    pub texts: Vec<String>,
    pub labels: Vec<String>,
    pub splits: Vec<Split>,
    pub invalid_utf8_rows: usize,
    pub files: Vec<PathBuf>,
    /// What reading found that a user should hear (a file with many damaged rows).
    pub warnings: Vec<String>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// Number of rows in each split (train, val, test).
    pub fn split_sizes(&self) -> (usize, usize, usize) {
        let c = |s| self.splits.iter().filter(|&&x| x == s).count();
        (c(Split::Train), c(Split::Val), c(Split::Test))
    }
}

/// Loads a named data set from the data folder and attaches its split.
pub fn load_named(spec: &DatasetSpec, data_dir: &Path) -> Result<Dataset, Error> {
    let mut ds = Dataset {
        name: spec.name.clone(),
        lang: Some(spec.lang),
        ..Default::default()
    };
    for f in &spec.files {
        let path = data_dir.join(f);
        if !path.is_file() {
            return Err(Error::Data(format!(
                "data set {}: missing file {} in data folder {}",
                spec.name,
                f,
                data_dir.display()
            )));
        }
        let table = read_table(&path, &CsvFormat::default())?;
        let ids = column_strings(&table, &spec.id_column)?;
        let texts = column_strings(&table, &spec.text_column)?;
        let labels = column_strings(&table, &spec.label_column)?;
        for (row, ((id, text), label)) in ids.into_iter().zip(texts).zip(labels).enumerate() {
            let id = id.ok_or_else(|| Error::Data(format!("{}: row {}: empty id", path.display(), row + 1)))?;
            let label = label.ok_or_else(|| {
                Error::Data(format!(
                    "{}: row {}: missing value in column {:?}",
                    path.display(),
                    row + 1,
                    spec.label_column
                ))
            })?;
            ds.ids.push(id);
            ds.texts.push(text.unwrap_or_default());
            ds.labels.push(label);
        }
        ds.invalid_utf8_rows += table.invalid_utf8_rows;
        ds.files.push(path);
    }
    let split_path = data_dir.join(&spec.split);
    if !split_path.is_file() {
        return Err(Error::Data(format!(
            "data set {}: missing split file {} in data folder {}",
            spec.name,
            spec.split,
            data_dir.display()
        )));
    }
    let split_table = read_table(&split_path, &CsvFormat::default())?;
    let split_ids = column_strings(&split_table, "id")?;
    let split_names = column_strings(&split_table, "split")?;
    let mut by_id = std::collections::HashMap::with_capacity(split_ids.len());
    for (row, (id, s)) in split_ids.into_iter().zip(split_names).enumerate() {
        let (Some(id), Some(s)) = (id, s) else { continue };
        let split = Split::parse(&s).ok_or_else(|| {
            Error::Data(format!(
                "{}: row {}: split {s:?} is not train, val or test",
                split_path.display(),
                row + 1
            ))
        })?;
        by_id.insert(id, split);
    }
    for (row, id) in ds.ids.iter().enumerate() {
        let split = by_id.get(id).copied().ok_or_else(|| {
            Error::Data(format!(
                "{}: no split for id {id} (row {} of the data)",
                split_path.display(),
                row + 1
            ))
        })?;
        ds.splits.push(split);
    }
    ds.files.push(split_path);
    Ok(ds)
}

/// Column names of a labelled table.
#[derive(Debug, Clone)]
pub struct Columns {
    pub text: String,
    pub label: String,
    pub id: Option<String>,
}

/// Rows of one labelled file.
struct LabelledRows {
    /// Given ids, or row numbers.
    ids: Vec<String>,
    texts: Vec<String>,
    labels: Vec<String>,
    invalid_utf8_rows: usize,
}

/// Whether a label cell is empty or one of pandas' missing-value spellings (`NaN`, `NA`,
/// `null`, ...): never a class.
fn is_missing(label: &str) -> bool {
    let l = label.trim();
    l.is_empty()
        || ["nan", "na", "n/a", "null", "none", "<na>", "#n/a"]
            .iter()
            .any(|m| l.eq_ignore_ascii_case(m))
}

fn read_labelled(path: &Path, cols: &Columns, format: &CsvFormat) -> Result<LabelledRows, Error> {
    let table = read_table(path, format)?;
    let texts = column_strings(&table, &cols.text)?;
    let labels = column_strings(&table, &cols.label)?;
    let ids = match &cols.id {
        Some(c) => column_strings(&table, c)?,
        None => (1..=texts.len()).map(|i| Some(i.to_string())).collect(),
    };
    let mut out_labels = Vec::with_capacity(labels.len());
    for (row, l) in labels.into_iter().enumerate() {
        match l {
            Some(l) if !is_missing(&l) => out_labels.push(l.trim().to_string()),
            l => {
                return Err(Error::Data(format!(
                    "{}: row {}: missing value {:?} in label column {:?}",
                    path.display(),
                    row + 1,
                    l.unwrap_or_default(),
                    cols.label
                )))
            }
        }
    }
    Ok(LabelledRows {
        ids: ids.into_iter().map(Option::unwrap_or_default).collect(),
        texts: texts.into_iter().map(Option::unwrap_or_default).collect(),
        labels: out_labels,
        invalid_utf8_rows: table.invalid_utf8_rows,
    })
}

/// A deterministic generator for seeded shuffles (SplitMix64).
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Indices of a stratified `fraction` of `labels` (per label, rounded, at least one from a
/// label with two or more rows), chosen with `seed`.
pub fn stratified_sample(labels: &[String], fraction: f64, seed: u64) -> Vec<usize> {
    let mut by_label: std::collections::BTreeMap<&str, Vec<usize>> = std::collections::BTreeMap::new();
    for (i, l) in labels.iter().enumerate() {
        by_label.entry(l.as_str()).or_default().push(i);
    }
    let mut rng = SplitMix64(seed);
    let mut out = Vec::new();
    for (_, mut rows) in by_label {
        rng.shuffle(&mut rows);
        let mut take = (rows.len() as f64 * fraction).round() as usize;
        if take == 0 && rows.len() >= 2 {
            take = 1;
        }
        out.extend_from_slice(&rows[..take.min(rows.len())]);
    }
    out.sort_unstable();
    out
}

/// Loads a task from CSV/Parquet files: `train`, optional `val` (else a stratified 10 % of
/// `train`, seeded), and `test`.
pub fn load_files(
    train: &Path,
    val: Option<&Path>,
    test: &Path,
    cols: &Columns,
    format: &CsvFormat,
    seed: u64,
) -> Result<Dataset, Error> {
    let mut ds = Dataset {
        name: train.display().to_string(),
        ..Default::default()
    };
    let LabelledRows {
        ids,
        texts,
        labels,
        invalid_utf8_rows: invalid,
    } = read_labelled(train, cols, format)?;
    if texts.is_empty() {
        return Err(Error::Data(format!("{}: no rows", train.display())));
    }
    let mut splits = vec![Split::Train; texts.len()];
    if val.is_none() {
        for i in stratified_sample(&labels, 0.1, seed) {
            splits[i] = Split::Val;
        }
    }
    ds.ids.extend(ids);
    ds.texts.extend(texts);
    ds.labels.extend(labels);
    ds.splits.extend(splits);
    ds.invalid_utf8_rows += invalid;
    ds.warnings
        .extend(encoding_warning(&train.display().to_string(), invalid, ds.texts.len()));
    ds.files.push(train.to_path_buf());
    for (path, split) in [(val, Split::Val), (Some(test), Split::Test)] {
        let Some(path) = path else { continue };
        let LabelledRows {
            ids,
            texts,
            labels,
            invalid_utf8_rows: invalid,
        } = read_labelled(path, cols, format)?;
        ds.splits.extend(std::iter::repeat_n(split, texts.len()));
        ds.warnings
            .extend(encoding_warning(&path.display().to_string(), invalid, texts.len()));
        ds.ids.extend(ids);
        ds.texts.extend(texts);
        ds.labels.extend(labels);
        ds.invalid_utf8_rows += invalid;
        ds.files.push(path.to_path_buf());
    }
    Ok(ds)
}

/// Writes `frame` as CSV or Parquet, by the extension of `path`, whole: to a temporary name
/// beside it, renamed over `path` once complete (a crash or a full disk leaves the old file).
pub fn write_table(frame: &mut DataFrame, path: &Path) -> Result<(), Error> {
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let io = |e: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let written = (|| {
        let file = File::create(&tmp).map_err(io)?;
        let is_parquet = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        if is_parquet {
            ParquetWriter::new(&file)
                .finish(frame)
                .map_err(|e| polars_err(path, e))?;
        } else {
            CsvWriter::new(&file)
                .include_header(true)
                .finish(frame)
                .map_err(|e| polars_err(path, e))?;
        }
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Adds a `tokens` column: a list of strings for Parquet, or one space-separated string
/// (for CSV) when `as_list` is false.
pub fn add_tokens_column(frame: &mut DataFrame, tokens: &[Vec<String>], as_list: bool) -> Result<(), Error> {
    let column: Column = if as_list {
        let list: ListChunked = tokens
            .iter()
            .map(|t| Some(Series::new(PlSmallStr::EMPTY, t.as_slice())))
            .collect();
        list.with_name("tokens".into()).into_series().into()
    } else {
        let joined: Vec<String> = tokens.iter().map(|t| t.join(" ")).collect();
        Series::new("tokens".into(), joined).into()
    };
    frame
        .with_column(column)
        .map_err(|e| Error::Data(format!("cannot add the tokens column: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_scan_finds_the_first_malformed_record() {
        let ok = b"id,text,label\r\n1,\"a, \"\"quoted\"\"\nline\",0\r\n\r\n2,b,1\n";
        assert_eq!(find_csv_problem(ok, b','), None);
        let unclosed = b"id,text,label\n1,ok,0\n2,\"never closed,1\n3,c,0\n";
        assert_eq!(
            find_csv_problem(unclosed, b','),
            Some(CsvProblem {
                line: 3,
                row: 2,
                column: 2,
                what: CsvProblemKind::UnclosedQuote
            })
        );
        let extra = b"id,text,label\n1,a,0\n2,\"x\ny\",1\n3,a, b,0\n";
        assert_eq!(
            find_csv_problem(extra, b','),
            Some(CsvProblem {
                line: 5,
                row: 3,
                column: 4,
                what: CsvProblemKind::FieldCount { found: 4, header: 3 }
            })
        );
        let short = b"id;text;label\n1;a\n";
        assert_eq!(
            find_csv_problem(short, b';'),
            Some(CsvProblem {
                line: 2,
                row: 1,
                column: 3,
                what: CsvProblemKind::FieldCount { found: 2, header: 3 }
            })
        );
    }

    #[test]
    fn unreadable_csv_error_names_file_line_and_column() {
        let dir = std::env::temp_dir().join(format!("rnnlab-csv-err-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("broken.csv");
        std::fs::write(&path, "id,text,label\n1,fine,0\n2,\"unclosed,1\n3,ok,0\n").unwrap();
        let Err(err) = read_table(&path, &CsvFormat::default()) else {
            panic!("a broken CSV was read")
        };
        let err = err.to_string();
        assert!(
            err.contains("broken.csv: line 3 (row 2), column 2: a quoted field is never closed"),
            "{err}"
        );
        assert!(!err.contains("infer_schema_length"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn registry_parses_and_names_are_unique() {
        let all = registry();
        assert_eq!(all.len(), 3);
        let mut names: Vec<_> = all.iter().map(|d| d.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 3);
        assert!(find_dataset("twitter-hate-speech").is_ok());
        let err = find_dataset("nope").unwrap_err().to_string();
        assert!(err.contains("sentirueval2015-banks"), "{err}");
        assert!(err.contains("ud-english-ewt (tagging)"), "{err}");
        let banks = treebanks();
        assert_eq!(banks.len(), 1);
        assert!(crate::conllu::find_treebank("ud-english-ewt").is_some_and(|t| t.val.ends_with("dev.conllu")));
        assert!(
            banks.iter().all(|t| all.iter().all(|d| d.name != t.name)),
            "one name space"
        );
    }

    #[test]
    fn reads_quoted_multiline_csv_and_counts_invalid_utf8() {
        let dir = std::env::temp_dir().join(format!("rnnlab-text-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.csv");
        std::fs::write(&path, b"id,text,label\r\n1,\"two\nlines\",a\r\n2,bad \xff byte,b\r\n").unwrap();
        let table = read_table(&path, &CsvFormat::default()).unwrap();
        assert_eq!(table.frame.height(), 2);
        assert_eq!(table.invalid_utf8_rows, 1);
        let texts = column_strings(&table, "text").unwrap();
        assert_eq!(texts[0].as_deref(), Some("two\nlines"));
        let err = column_strings(&table, "tweet").unwrap_err().to_string();
        assert!(err.contains("no column \"tweet\"") && err.contains("text"), "{err}");

        let mut frame = table.frame.clone();
        add_tokens_column(&mut frame, &[vec!["a".into(), "b".into()], vec![]], true).unwrap();
        let out = dir.join("t.parquet");
        write_table(&mut frame, &out).unwrap();
        let back = read_table(&out, &CsvFormat::default()).unwrap();
        assert_eq!(back.frame.height(), 2);
        assert!(back.frame.column("tokens").unwrap().list().is_ok());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn stratified_sample_is_seeded_and_stratified() {
        let labels: Vec<String> = (0..100).map(|i| if i < 80 { "a".into() } else { "b".into() }).collect();
        let s1 = stratified_sample(&labels, 0.1, 7);
        assert_eq!(s1.len(), 10);
        assert_eq!(s1.iter().filter(|&&i| i >= 80).count(), 2);
        assert_eq!(s1, stratified_sample(&labels, 0.1, 7));
        assert_ne!(s1, stratified_sample(&labels, 0.1, 8));
    }

    #[test]
    fn load_files_with_and_without_val() {
        let dir = std::env::temp_dir().join(format!("rnnlab-load-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let train = dir.join("train.csv");
        let mut body = String::from("text,label\n");
        for i in 0..40 {
            body.push_str(&format!("text {i},{}\n", if i % 4 == 0 { "pos" } else { "neg" }));
        }
        std::fs::write(&train, &body).unwrap();
        let test = dir.join("test.csv");
        std::fs::write(&test, "text,label\nx,pos\ny,\n").unwrap();
        let cols = Columns {
            text: "text".into(),
            label: "label".into(),
            id: None,
        };
        let err = load_files(&train, None, &test, &cols, &CsvFormat::default(), 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("row 2") && err.contains("label"), "{err}");
        std::fs::write(&test, "text,label\nx,pos\ny,neg\n").unwrap();
        let ds = load_files(&train, None, &test, &cols, &CsvFormat::default(), 0).unwrap();
        assert_eq!(ds.split_sizes(), (36, 4, 2));
        let ds = load_files(&train, Some(&test), &test, &cols, &CsvFormat::default(), 0).unwrap();
        assert_eq!(ds.split_sizes(), (40, 2, 2));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn missing_file_is_named() {
        let err = read_table(Path::new("/nonexistent/x.csv"), &CsvFormat::default())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("/nonexistent/x.csv"));
    }

    #[test]
    fn a_file_in_another_encoding_is_refused_then_read_with_encoding() {
        let dir = std::env::temp_dir().join(format!("rnnlab-encoding-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = "text,label\nОтличный банк,1\nУжасный сервис,0\nНормально,1\n";
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(text);
        let path = dir.join("cp1251.csv");
        std::fs::write(&path, &bytes).unwrap();
        let err = read_table(&path, &CsvFormat::default()).err().unwrap().to_string();
        assert!(
            err.contains("cp1251.csv") && err.contains("3 of 3 rows") && err.contains("--encoding"),
            "{err}"
        );
        let table = read_table(&path, &CsvFormat::new(',', "cp1251").unwrap()).unwrap();
        let texts = column_strings(&table, "text").unwrap();
        assert_eq!(texts[0].as_deref(), Some("Отличный банк"));
        assert_eq!(table.invalid_utf8_rows, 0);
        let koi = CsvFormat::new(',', "KOI8-R").unwrap();
        assert_eq!(koi.encoding, encoding_rs::KOI8_R);
        assert!(CsvFormat::new(',', "klingon").is_err());
        assert!(CsvFormat::new('§', "utf-8").is_err());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn some_damage_warns_and_more_than_one_percent_only() {
        assert!(encoding_warning("f.csv", 1, 100).is_none());
        let w = encoding_warning("f.csv", 2, 100).unwrap();
        assert!(
            w.contains("f.csv") && w.contains("2 of 100") && w.contains("--encoding"),
            "{w}"
        );
    }

    #[test]
    fn a_repeated_column_name_or_a_directory_is_an_error() {
        let dir = std::env::temp_dir().join(format!("rnnlab-header-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dup.csv");
        std::fs::write(&path, "text,label,text\na,1,b\n").unwrap();
        let err = read_table(&path, &CsvFormat::default()).err().unwrap().to_string();
        assert!(err.contains("dup.csv") && err.contains("\"text\" twice"), "{err}");
        let err = read_table(&dir, &CsvFormat::default()).err().unwrap().to_string();
        assert!(err.contains("a directory"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn missing_label_spellings_are_not_classes() {
        for m in ["", "  ", "NaN", "nan", "NA", "N/A", "null", "None", "<NA>"] {
            assert!(is_missing(m), "{m:?}");
        }
        for l in ["0", "-1", "neutral", "nano", "n"] {
            assert!(!is_missing(l), "{l:?}");
        }
    }
}
