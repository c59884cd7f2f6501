//! Tables read a batch of rows at a time, so that commands over files of any length (`predict`)
//! hold one batch in memory, not the file.
//!
//! A CSV file is decoded as a stream (`encoding_rs`, which keeps a character split across two
//! reads whole), cut at record ends outside quotes, and each batch, with the header in front,
//! is parsed by polars exactly as [`crate::dataset::read_table`] parses a whole file. A Parquet
//! file is read a slice of rows at a time.

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::dataset::{check_csv_header, damaged_rows, find_csv_problem, refuse_mostly_undecodable, CsvFormat, Table};
use crate::Error;

/// Bytes read from the file at a time.
const READ_BYTES: usize = 1 << 20;

/// The batches of a CSV or Parquet file; see [`read_batches`].
pub struct TableBatches {
    path: PathBuf,
    format: CsvFormat,
    rows: usize,
    source: Source,
    first: bool,
}

enum Source {
    Csv(CsvStream),
    Parquet { total: usize, next: usize },
}

struct CsvStream {
    file: File,
    format: CsvFormat,
    decoder: encoding_rs::Decoder,
    /// The header record, newline included, put before every batch.
    header: String,
    /// Decoded text not yet emitted; it starts at a record boundary.
    pending: String,
    /// How far `pending` has been scanned, the quote state there, the complete records before
    /// it, and where the last of them ends.
    scanned: usize,
    in_quotes: bool,
    records: usize,
    cut: usize,
    eof: bool,
    /// Physical lines and data rows emitted before the current batch (for error positions).
    lines_before: usize,
    rows_before: usize,
}

/// Reads `path` (CSV in `format`, or Parquet by its extension) in batches of at most `rows`
/// rows, each a [`Table`] with every column as text. The header is checked first (a column
/// named twice is an error); a first batch whose rows are mostly undecodable is refused as
/// [`crate::dataset::read_table`] refuses such a file.
pub fn read_batches(path: &Path, format: &CsvFormat, rows: usize) -> Result<TableBatches, Error> {
    crate::dataset::check_data_file(path)?;
    let rows = rows.max(1);
    let is_parquet = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    let source = if is_parquet {
        let total = ParquetReader::new(open(path)?)
            .num_rows()
            .map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
        Source::Parquet { total, next: 0 }
    } else {
        let mut stream = CsvStream {
            file: open(path)?,
            format: *format,
            decoder: format.encoding.new_decoder(),
            header: String::new(),
            pending: String::new(),
            scanned: 0,
            in_quotes: false,
            records: 0,
            cut: 0,
            eof: false,
            lines_before: 1,
            rows_before: 0,
        };
        stream.read_header(path)?;
        check_csv_header(path, &stream.header, format.delimiter)?;
        Source::Csv(stream)
    };
    Ok(TableBatches {
        path: path.to_path_buf(),
        format: *format,
        rows,
        source,
        first: true,
    })
}

fn open(path: &Path) -> Result<File, Error> {
    File::open(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

impl CsvStream {
    /// Decodes the next read into `pending`; `false` at the end of the file.
    fn fill(&mut self, path: &Path) -> Result<bool, Error> {
        if self.eof {
            return Ok(false);
        }
        let mut raw = vec![0u8; READ_BYTES];
        let n = self.file.read(&mut raw).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let last = n == 0;
        let need = self.decoder.max_utf8_buffer_length(n).unwrap_or(4 * n + 16);
        self.pending.reserve(need);
        let (_, _, _) = self.decoder.decode_to_string(&raw[..n], &mut self.pending, last);
        self.eof = last;
        Ok(!last)
    }

    /// Advances the scan of `pending`, stopping after `limit` complete records.
    fn scan(&mut self, limit: usize) {
        let bytes = self.pending.as_bytes();
        while self.scanned < bytes.len() && self.records < limit {
            match bytes[self.scanned] {
                b'"' => self.in_quotes = !self.in_quotes,
                b'\n' if !self.in_quotes => {
                    self.records += 1;
                    self.cut = self.scanned + 1;
                }
                _ => {}
            }
            self.scanned += 1;
        }
    }

    fn read_header(&mut self, path: &Path) -> Result<(), Error> {
        loop {
            self.scan(1);
            if self.records == 1 {
                break;
            }
            if !self.fill(path)? {
                self.scan(1);
                if self.records == 0 {
                    // A header with no newline after it: a file without rows.
                    self.pending.push('\n');
                    self.scan(1);
                }
                break;
            }
        }
        self.header = self.pending[..self.cut].to_string();
        self.pending.drain(..self.cut);
        self.reset_scan();
        Ok(())
    }

    fn reset_scan(&mut self) {
        self.scanned = 0;
        self.in_quotes = false;
        self.records = 0;
        self.cut = 0;
    }

    /// The next batch's text (header first), or `None` when the file is done.
    fn next_text(&mut self, path: &Path, rows: usize) -> Result<Option<String>, Error> {
        loop {
            self.scan(rows);
            if self.records == rows {
                break;
            }
            if !self.fill(path)? {
                self.scan(rows);
                if self.records < rows && self.cut < self.pending.len() {
                    // The last record, with no newline after it.
                    if !self.pending[self.cut..].trim().is_empty() {
                        self.pending.push('\n');
                        self.scan(rows);
                    }
                }
                break;
            }
        }
        if self.cut == 0 {
            return Ok(None);
        }
        let mut text = String::with_capacity(self.header.len() + self.cut);
        text.push_str(&self.header);
        text.push_str(&self.pending[..self.cut]);
        self.pending.drain(..self.cut);
        self.reset_scan();
        Ok(Some(text))
    }
}

impl TableBatches {
    fn next_table(&mut self) -> Result<Option<Table>, Error> {
        let path = self.path.clone();
        let frame = match &mut self.source {
            Source::Parquet { total, next } => {
                if *next >= *total {
                    return Ok(None);
                }
                let frame = ParquetReader::new(open(&path)?)
                    .with_slice(Some((*next, self.rows)))
                    .finish()
                    .map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
                *next += self.rows;
                frame
            }
            Source::Csv(stream) => {
                let text = match stream.next_text(&path, self.rows)? {
                    Some(text) => text,
                    // A file of a header only is one empty batch, so its columns are known.
                    None if self.first => stream.header.clone(),
                    None => return Ok(None),
                };
                let delimiter = stream.format.delimiter;
                let parsed = CsvReadOptions::default()
                    .with_has_header(true)
                    .with_infer_schema_length(Some(0))
                    .map_parse_options(|o| o.with_separator(delimiter))
                    .into_reader_with_file_handle(Cursor::new(text.as_bytes()))
                    .finish();
                let frame = match parsed {
                    Ok(f) => f,
                    Err(e) => {
                        let message = match find_csv_problem(text.as_bytes(), delimiter) {
                            Some(mut p) => {
                                p.line += stream.lines_before - 1;
                                p.row += stream.rows_before;
                                p.to_string()
                            }
                            None => e.to_string().lines().next().unwrap_or_default().to_string(),
                        };
                        return Err(Error::Data(format!("{}: {message}", path.display())));
                    }
                };
                stream.lines_before += text.bytes().filter(|&b| b == b'\n').count() - 1;
                stream.rows_before += frame.height();
                frame
            }
        };
        let invalid = damaged_rows(&frame);
        if std::mem::take(&mut self.first) {
            refuse_mostly_undecodable(&path, invalid, frame.height(), &self.format)?;
        }
        Ok(Some(Table {
            path,
            frame,
            invalid_utf8_rows: invalid,
        }))
    }
}

/// A table written a batch at a time (CSV, or Parquet by the extension), to a temporary name
/// beside its path that [`TableWriter::finish`] renames over it: an error or a kill part way
/// leaves no half-written table. Every batch has the first one's columns.
pub struct TableWriter {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
    writer: Option<BatchWriter>,
}

enum BatchWriter {
    Csv(polars::io::csv::write::BatchedWriter<File>),
    Parquet(Box<polars::io::parquet::write::BatchedWriter<File>>),
}

impl TableWriter {
    pub fn create(path: &Path) -> Result<Self, Error> {
        let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let file = File::create(&tmp).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Ok(TableWriter {
            path: path.to_path_buf(),
            tmp,
            file: Some(file),
            writer: None,
        })
    }

    fn polars_err(&self, e: PolarsError) -> Error {
        Error::Data(format!("{}: {e}", self.path.display()))
    }

    pub fn write(&mut self, frame: &mut DataFrame) -> Result<(), Error> {
        if self.writer.is_none() {
            let file = self.file.as_ref().expect("open until finish");
            let file = file.try_clone().map_err(|e| Error::Io {
                path: self.path.clone(),
                source: e,
            })?;
            let schema = frame.schema().as_ref().clone();
            let is_parquet = self.path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
            let writer = if is_parquet {
                ParquetWriter::new(file)
                    .batched(&schema)
                    .map(|w| BatchWriter::Parquet(Box::new(w)))
            } else {
                CsvWriter::new(file)
                    .include_header(true)
                    .batched(&schema)
                    .map(BatchWriter::Csv)
            };
            self.writer = Some(writer.map_err(|e| self.polars_err(e))?);
        }
        frame.rechunk_mut();
        let written = match self.writer.as_mut().expect("created above") {
            BatchWriter::Csv(w) => w.write_batch(frame),
            BatchWriter::Parquet(w) => w.write_batch(frame),
        };
        written.map_err(|e| self.polars_err(e))
    }

    /// Ends the table (Parquet's footer), flushes it to disk and renames it into place.
    pub fn finish(mut self) -> Result<(), Error> {
        let ended = match self.writer.take() {
            Some(BatchWriter::Csv(mut w)) => w.finish().map(|_| ()),
            Some(BatchWriter::Parquet(w)) => w.finish().map(|_| ()),
            None => Ok(()),
        };
        ended.map_err(|e| self.polars_err(e))?;
        let file = self.file.take().expect("open until finish");
        let io = |e| Error::Io {
            path: self.path.clone(),
            source: e,
        };
        file.sync_all().map_err(io)?;
        std::fs::rename(&self.tmp, &self.path).map_err(io)
    }
}

impl Drop for TableWriter {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

impl Iterator for TableBatches {
    type Item = Result<Table, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_table().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{column_strings, read_table};

    fn texts_of(path: &Path, format: &CsvFormat, rows: usize) -> Vec<String> {
        read_batches(path, format, rows)
            .unwrap()
            .flat_map(|t| {
                let t = t.unwrap();
                assert!(t.frame.height() <= rows);
                column_strings(&t, "text").unwrap()
            })
            .map(Option::unwrap_or_default)
            .collect()
    }

    #[test]
    fn batches_read_what_the_whole_file_reads() {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("id,text,label\n");
        for i in 0..103 {
            // Quoted commas and line breaks, quotes, and Cyrillic across read boundaries.
            csv.push_str(&format!("{i},\"привет, мир {i}\nвторая \"\"строка\"\"\",{}\n", i % 2));
        }
        csv.push_str("103,last without newline,1");
        for (name, encoding) in [
            ("utf8.csv", "utf-8"),
            ("cp1251.csv", "cp1251"),
            ("utf16.csv", "utf-16le"),
        ] {
            let format = CsvFormat::new(',', encoding).unwrap();
            let bytes = match encoding {
                "utf-16le" => {
                    let mut b = vec![0xff, 0xfe];
                    b.extend(csv.encode_utf16().flat_map(u16::to_le_bytes));
                    b
                }
                _ => format.encoding.encode(&csv).0.into_owned(),
            };
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).unwrap();
            let whole: Vec<String> = column_strings(&read_table(&path, &format).unwrap(), "text")
                .unwrap()
                .into_iter()
                .map(Option::unwrap_or_default)
                .collect();
            assert_eq!(whole.len(), 104, "{name}");
            assert_eq!(whole[0], "привет, мир 0\nвторая \"строка\"", "{name}");
            for rows in [1, 7, 50, 1000] {
                assert_eq!(texts_of(&path, &format, rows), whole, "{name}, {rows} rows a batch");
            }
        }
    }

    #[test]
    fn a_malformed_record_is_named_by_its_line_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.csv");
        let mut csv = String::from("text,label\n");
        for i in 0..20 {
            csv.push_str(&format!("t{i},1\n"));
        }
        csv.push_str("a,b,c\n");
        std::fs::write(&path, csv).unwrap();
        let err = read_batches(&path, &CsvFormat::default(), 8)
            .unwrap()
            .find_map(Result::err)
            .expect("the bad record is an error")
            .to_string();
        assert!(err.contains("bad.csv") && err.contains("line 22 (row 21)"), "{err}");
        let dup = dir.path().join("dup.csv");
        std::fs::write(&dup, "text,text\na,b\n").unwrap();
        assert!(read_batches(&dup, &CsvFormat::default(), 8).is_err());
    }

    #[test]
    fn a_table_written_in_batches_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["out.csv", "out.parquet"] {
            let path = dir.path().join(name);
            let mut w = TableWriter::create(&path).unwrap();
            for b in 0..3 {
                let texts: Vec<String> = (0..4).map(|i| format!("batch {b}, \"row\" {i}")).collect();
                let mut frame = DataFrame::new(4, vec![Column::new("text".into(), texts)]).unwrap();
                w.write(&mut frame).unwrap();
                assert!(!path.exists(), "nothing visible before finish");
            }
            w.finish().unwrap();
            let back = texts_of(&path, &CsvFormat::default(), 5);
            assert_eq!(back.len(), 12, "{name}");
            assert_eq!(back[5], "batch 1, \"row\" 1", "{name}");
            assert_eq!(
                std::fs::read_dir(dir.path()).unwrap().count(),
                1,
                "{name}: no temporary file"
            );
            std::fs::remove_file(&path).unwrap();
        }
        // Dropped before finish (an error): no file, no temporary file.
        let path = dir.path().join("dropped.csv");
        let mut w = TableWriter::create(&path).unwrap();
        let mut frame = DataFrame::new(1, vec![Column::new("text".into(), ["x"])]).unwrap();
        w.write(&mut frame).unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_header_only_file_is_one_empty_batch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.csv");
        std::fs::write(&path, "id,text\n").unwrap();
        let batches: Vec<Table> = read_batches(&path, &CsvFormat::default(), 10)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].frame.height(), 0);
        assert_eq!(batches[0].frame.get_column_names().len(), 2);
    }

    #[test]
    fn parquet_is_read_a_slice_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let texts: Vec<String> = (0..25).map(|i| format!("text {i}")).collect();
        let mut frame = DataFrame::new(texts.len(), vec![Column::new("text".into(), texts.clone())]).unwrap();
        crate::dataset::write_table(&mut frame, &path).unwrap();
        assert_eq!(texts_of(&path, &CsvFormat::default(), 10), texts);
    }
}
