//! Located problems in an experiment file: where (`line:column` and key path) and what.
//!
//! Every stage of loading (YAML syntax, schema, typed model, semantic checks) reports
//! into the same [`Problem`] type so that `cohort validate` can print all of them at
//! once, sorted by position, in one format.

use std::collections::HashMap;
use std::fmt;

/// One step of a [`KeyPath`]: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// Where a value sits in the document, e.g. `scenes[2].group_size`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyPath(pub Vec<Segment>);

impl KeyPath {
    /// The document root.
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// This path extended by a mapping key.
    pub fn key(&self, key: &str) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Key(key.to_owned()));
        next
    }

    /// This path extended by a list index.
    pub fn index(&self, index: usize) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Index(index));
        next
    }

    /// The enclosing path, or `None` at the root.
    pub fn parent(&self) -> Option<Self> {
        let mut up = self.clone();
        up.0.pop().map(|_| up)
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => write!(f, "{key}")?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    /// No position: the problem concerns the file as a whole (e.g. it cannot be read).
    pub const NONE: Pos = Pos { line: 0, column: 0 };
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Where a mapping entry or list item was written: its key (for mapping entries) and
/// the start of its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub key: Option<Pos>,
    pub value: Pos,
}

/// Key path → source position, filled while parsing YAML.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    spans: HashMap<KeyPath, Span>,
}

impl SourceMap {
    pub fn insert(&mut self, path: KeyPath, span: Span) {
        self.spans.insert(path, span);
    }

    /// The span of `path`, or of its nearest ancestor that has one (values expanded from
    /// a YAML alias are located at the alias).
    pub fn span(&self, path: &KeyPath) -> Option<Span> {
        let mut current = Some(path.clone());
        while let Some(p) = current {
            if let Some(span) = self.spans.get(&p) {
                return Some(*span);
            }
            current = p.parent();
        }
        None
    }

    /// Position of the value at `path`.
    pub fn value_pos(&self, path: &KeyPath) -> Pos {
        self.span(path).map(|s| s.value).unwrap_or(Pos { line: 1, column: 1 })
    }

    /// Position of the key of the entry at `path` (falls back to the value).
    pub fn key_pos(&self, path: &KeyPath) -> Pos {
        self.span(path).map(|s| s.key.unwrap_or(s.value)).unwrap_or(Pos { line: 1, column: 1 })
    }
}

/// One problem in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pos: Pos,
    /// Empty for problems of the file as a whole (syntax, size, encoding).
    pub path: KeyPath,
    pub message: String,
}

impl Problem {
    pub fn new(pos: Pos, path: KeyPath, message: impl Into<String>) -> Self {
        Self { pos, path, message: message.into() }
    }

    /// A problem of the whole file, located at `pos`.
    pub fn at(pos: Pos, message: impl Into<String>) -> Self {
        Self::new(pos, KeyPath::root(), message)
    }
}

/// All problems of one file, displayable as `file:line:column: path: message` lines.
#[derive(Debug, Clone)]
pub struct Report {
    pub file: String,
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn new(file: impl Into<String>, mut problems: Vec<Problem>) -> Self {
        problems.sort_by(|a, b| (a.pos, &a.path).cmp(&(b.pos, &b.path)));
        problems.dedup();
        Self { file: file.into(), problems }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.problems {
            if p.pos == Pos::NONE {
                write!(f, "{}: ", self.file)?;
            } else {
                write!(f, "{}:{}: ", self.file, p.pos)?;
            }
            if !p.path.is_root() {
                write!(f, "{}: ", p.path)?;
            }
            writeln!(f, "{}", p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Report {}

/// "did you mean `x`?" for the closest candidate, when one is close enough.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
