//! The parsed form of CQL statements, before names are resolved against the schema.

use crate::types::ColumnType;

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    /// Integer text as written (may exceed i64: varint).
    Int(String),
    /// Floating text as written (keeps the exact digits for decimal).
    Float(String),
    NaN,
    Infinity(bool),
    Hex(Vec<u8>),
    Uuid(uuid::Uuid),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Lit(Literal),
    /// `?` (None) or `:name`.
    Bind(Option<String>),
    List(Vec<Term>),
    /// `{a, b}`; an empty `{}` is kept as a map and read as a set where a set is expected.
    Set(Vec<Term>),
    Map(Vec<(Term, Term)>),
    Tuple(Vec<Term>),
    Func(String, Vec<Term>),
    Cast(Box<Term>, ColumnType),
}

#[derive(Debug, Clone, PartialEq)]
pub struct QualifiedName {
    pub keyspace: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Contains,
    ContainsKey,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lhs {
    Column(String),
    Token(Vec<String>),
    /// `(c1, c2) > (?, ?)`
    Tuple(Vec<String>),
    /// `m['k'] = ...` in conditions.
    Element(String, Term),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    pub lhs: Lhs,
    pub op: Op,
    /// For IN: the list of terms, or a single bind marker holding a list.
    pub rhs: Vec<Term>,
    pub in_marker: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    Star,
    Column(String),
    CountStar,
    Count(String),
    WriteTime(String),
    Ttl(String),
    Token(Vec<String>),
    Func(String, Vec<Selector>),
    /// `CAST(x AS type)`; the flag is whether the type was written `varchar`.
    Cast(Box<Selector>, ColumnType, bool),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SelectItem {
    pub selector: Selector,
    pub alias: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    pub table: QualifiedName,
    pub distinct: bool,
    pub json: bool,
    pub items: Vec<SelectItem>,
    pub where_: Vec<Relation>,
    /// `GROUP BY c1, c2` (column names only, as Cassandra 4.1's grammar).
    pub group_by: Vec<String>,
    pub order_by: Vec<(String, bool)>,
    pub per_partition_limit: Option<Term>,
    pub limit: Option<Term>,
    pub allow_filtering: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Using {
    pub ttl: Option<Term>,
    pub timestamp: Option<Term>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    None,
    IfExists,
    IfNotExists,
    Conds(Vec<Relation>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    pub table: QualifiedName,
    pub columns: Vec<String>,
    pub values: Vec<Term>,
    pub using: Using,
    pub if_not_exists: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Assignment {
    /// `c = term`
    Set(String, Term),
    /// `c = c + term` / `c = c - term` (counters, collections)
    Add(String, Term),
    Sub(String, Term),
    /// `c = term + c` (list prepend)
    Prepend(String, Term),
    /// `c[key] = term`
    SetElement(String, Term, Term),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub table: QualifiedName,
    pub using: Using,
    pub assignments: Vec<Assignment>,
    pub where_: Vec<Relation>,
    pub condition: Condition,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Deletion {
    Column(String),
    Element(String, Term),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Delete {
    pub table: QualifiedName,
    pub columns: Vec<Deletion>,
    pub using: Using,
    pub where_: Vec<Relation>,
    pub condition: Condition,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: ColumnType,
    pub frozen: bool,
    pub is_static: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    Const(Literal),
    Map(Vec<(String, String)>),
    Ident(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateTable {
    pub name: QualifiedName,
    pub if_not_exists: bool,
    pub columns: Vec<ColumnDef>,
    pub partition_key: Vec<String>,
    pub clustering: Vec<String>,
    pub clustering_order: Vec<(String, bool)>,
    pub options: Vec<(String, OptionValue)>,
    pub compact_storage: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AlterTable {
    Add { if_not_exists: bool, columns: Vec<ColumnDef> },
    Drop { if_exists: bool, columns: Vec<String> },
    With(Vec<(String, OptionValue)>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    Select(Select),
    Insert(Insert),
    Update(Update),
    Delete(Delete),
    Batch {
        kind: crate::engine::BatchType,
        using: Using,
        statements: Vec<Statement>,
    },
    Use(String),
    CreateKeyspace {
        name: String,
        if_not_exists: bool,
        options: Vec<(String, OptionValue)>,
    },
    AlterKeyspace {
        name: String,
        options: Vec<(String, OptionValue)>,
    },
    AlterTable {
        name: QualifiedName,
        change: AlterTable,
    },
    DropKeyspace {
        name: String,
        if_exists: bool,
    },
    CreateTable(CreateTable),
    DropTable {
        name: QualifiedName,
        if_exists: bool,
    },
    Truncate(QualifiedName),
    /// Recognised but unsupported statements: answered with a clear error of the right class.
    Unsupported {
        kind: crate::engine::StatementKind,
        what: String,
    },
}
