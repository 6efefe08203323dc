//! A CSV table as pandas (`read_csv`) and R (`read.csv`) read it: a header row, comma
//! separated, fields quoted when they hold a comma, a quote or a line break (quotes
//! doubled), UTF-8, `\n` line ends. Empty fields are missing values.

use std::io::Write;

/// Rows of one table, written at the end.
pub struct Table {
    pub name: &'static str,
    columns: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(name: &'static str, columns: &[&'static str]) -> Self {
        Self { name, columns: columns.to_vec(), rows: Vec::new() }
    }

    /// Adds a row; it must have one field per column.
    pub fn row(&mut self, fields: Vec<String>) {
        debug_assert_eq!(fields.len(), self.columns.len(), "table {}", self.name);
        self.rows.push(fields);
    }

    /// The index of the column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| *c == name)
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[&'static str] {
        &self.columns
    }

    /// The rows so far.
    pub fn rows(&self) -> impl Iterator<Item = &Vec<String>> {
        self.rows.iter()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Writes the table with its header.
    pub fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        line(out, self.columns.iter().copied())?;
        for row in &self.rows {
            line(out, row.iter().map(String::as_str))?;
        }
        Ok(())
    }
}

fn line<'a>(out: &mut impl Write, fields: impl Iterator<Item = &'a str>) -> std::io::Result<()> {
    let mut first = true;
    for field in fields {
        if !first {
            out.write_all(b",")?;
        }
        first = false;
        if field.contains([',', '"', '\n', '\r']) {
            write!(out, "\"{}\"", field.replace('"', "\"\""))?;
        } else {
            out.write_all(field.as_bytes())?;
        }
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_that_need_it_are_quoted() {
        let mut t = Table::new("t", &["a", "b"]);
        t.row(vec!["plain".into(), "with, comma and \"quote\"\nand a line".into()]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a,b\nplain,\"with, comma and \"\"quote\"\"\nand a line\"\n");
    }
}
