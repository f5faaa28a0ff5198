//! Recursive-descent CQL parser: text to `ast::Statement`. Every failure is a SyntaxError
//! naming the line/column and the offending input, in the spirit of Cassandra's ANTLR messages.

use super::ast::*;
use super::lexer::{Tok, Token, tokenize};
use super::{BatchType, StatementKind};
use crate::error::{CqlError, CqlResult};
use crate::types::ColumnType;

pub fn parse(text: &str) -> CqlResult<Statement> {
    let toks = tokenize(text)?;
    let mut p = Parser { toks, pos: 0 };
    if p.toks.is_empty() {
        return Err(CqlError::syntax("line 0:-1 no viable alternative at input '<EOF>'"));
    }
    let st = p.statement()?;
    while p.eat_sym(";") {}
    if p.pos < p.toks.len() {
        return Err(p.err_here());
    }
    Ok(st)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
}

const RESERVED: &[&str] = &[
    "select", "from", "where", "and", "insert", "into", "values", "update", "set", "delete", "batch", "apply", "begin", "create", "drop",
    "table", "keyspace", "use", "truncate", "limit", "order", "by", "if", "in", "not", "using", "with", "primary", "allow", "asc", "desc",
    "token", "null",
];

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }
    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n).map(|t| &t.tok)
    }
    fn err_here(&self) -> CqlError {
        match self.toks.get(self.pos) {
            Some(t) => CqlError::syntax(format!("line {}:{} no viable alternative at input '{}'", t.line, t.col, t.text)),
            None => {
                let (l, c) = self.toks.last().map(|t| (t.line, t.col + t.text.len())).unwrap_or((1, 0));
                CqlError::syntax(format!("line {l}:{c} mismatched input '<EOF>'"))
            }
        }
    }
    fn expected(&self, what: &str) -> CqlError {
        match self.toks.get(self.pos) {
            Some(t) => CqlError::syntax(format!(
                "line {}:{} mismatched input '{}' expecting {}",
                t.line, t.col, t.text, what
            )),
            None => {
                let (l, c) = self.toks.last().map(|t| (t.line, t.col + t.text.len())).unwrap_or((1, 0));
                CqlError::syntax(format!("line {l}:{c} mismatched input '<EOF>' expecting {what}"))
            }
        }
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s == kw)
    }
    fn is_kw_at(&self, n: usize, kw: &str) -> bool {
        matches!(self.peek_at(n), Some(Tok::Ident(s)) if s == kw)
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn kw(&mut self, kw: &str) -> CqlResult<()> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.expected(&kw.to_ascii_uppercase()))
        }
    }
    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Sym(x)) if *x == s)
    }
    fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn sym(&mut self, s: &str) -> CqlResult<()> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.expected(&format!("'{s}'")))
        }
    }

    /// An identifier: unquoted (lower-cased) or quoted (kept). Reserved words are refused.
    fn ident(&mut self) -> CqlResult<String> {
        match self.peek() {
            Some(Tok::Ident(s)) if !RESERVED.contains(&s.as_str()) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            Some(Tok::Quoted(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.err_here()),
        }
    }

    fn qualified(&mut self) -> CqlResult<QualifiedName> {
        let first = self.ident()?;
        if self.eat_sym(".") {
            let name = self.ident()?;
            Ok(QualifiedName {
                keyspace: Some(first),
                name,
            })
        } else {
            Ok(QualifiedName {
                keyspace: None,
                name: first,
            })
        }
    }

    fn statement(&mut self) -> CqlResult<Statement> {
        let Some(Tok::Ident(first)) = self.peek().cloned() else {
            return Err(self.err_here());
        };
        match first.as_str() {
            "select" => self.select().map(Statement::Select),
            "insert" => self.insert().map(Statement::Insert),
            "update" => self.update().map(Statement::Update),
            "delete" => self.delete().map(Statement::Delete),
            "begin" => self.batch(),
            "use" => {
                self.pos += 1;
                Ok(Statement::Use(self.ident()?))
            }
            "truncate" => {
                self.pos += 1;
                self.eat_kw("table");
                Ok(Statement::Truncate(self.qualified()?))
            }
            "create" => self.create(),
            "drop" => self.drop(),
            "alter" => self.alter(),
            "grant" | "revoke" | "list" => {
                self.pos = self.toks.len();
                Ok(Statement::Unsupported {
                    kind: StatementKind::Other,
                    what: first.to_ascii_uppercase(),
                })
            }
            "describe" | "desc" => {
                self.pos = self.toks.len();
                Ok(Statement::Unsupported {
                    kind: StatementKind::Other,
                    what: "DESCRIBE".into(),
                })
            }
            _ => Err(self.err_here()),
        }
    }

    fn if_not_exists(&mut self) -> CqlResult<bool> {
        if self.eat_kw("if") {
            self.kw("not")?;
            self.kw("exists")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }
    fn if_exists(&mut self) -> CqlResult<bool> {
        if self.eat_kw("if") {
            self.kw("exists")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn create(&mut self) -> CqlResult<Statement> {
        self.kw("create")?;
        if self.eat_kw("keyspace") || self.eat_kw("schema") {
            let if_not_exists = self.if_not_exists()?;
            let name = self.ident()?;
            self.kw("with")?;
            let options = self.options()?;
            return Ok(Statement::CreateKeyspace {
                name,
                if_not_exists,
                options,
            });
        }
        if self.eat_kw("table") || self.eat_kw("columnfamily") {
            return self.create_table().map(Statement::CreateTable);
        }
        let what = match self.peek() {
            Some(Tok::Ident(s)) => s.to_ascii_uppercase(),
            _ => return Err(self.err_here()),
        };
        let what = match what.as_str() {
            "CUSTOM" | "INDEX" => "CREATE INDEX",
            "TYPE" => "CREATE TYPE",
            "MATERIALIZED" => "CREATE MATERIALIZED VIEW",
            "FUNCTION" | "OR" => "CREATE FUNCTION",
            "AGGREGATE" => "CREATE AGGREGATE",
            "TRIGGER" => "CREATE TRIGGER",
            "ROLE" | "USER" => {
                self.pos = self.toks.len();
                return Ok(Statement::Unsupported {
                    kind: StatementKind::Other,
                    what: format!("CREATE {what}"),
                });
            }
            _ => return Err(self.err_here()),
        };
        self.pos = self.toks.len();
        Ok(Statement::Unsupported {
            kind: StatementKind::Schema,
            what: what.into(),
        })
    }

    fn drop(&mut self) -> CqlResult<Statement> {
        self.kw("drop")?;
        if self.eat_kw("keyspace") || self.eat_kw("schema") {
            let if_exists = self.if_exists()?;
            return Ok(Statement::DropKeyspace {
                name: self.ident()?,
                if_exists,
            });
        }
        if self.eat_kw("table") || self.eat_kw("columnfamily") {
            let if_exists = self.if_exists()?;
            return Ok(Statement::DropTable {
                name: self.qualified()?,
                if_exists,
            });
        }
        let what = match self.peek() {
            Some(Tok::Ident(s)) => s.to_ascii_uppercase(),
            _ => return Err(self.err_here()),
        };
        let kind = if matches!(what.as_str(), "ROLE" | "USER") {
            StatementKind::Other
        } else {
            StatementKind::Schema
        };
        if !matches!(
            what.as_str(),
            "INDEX" | "TYPE" | "MATERIALIZED" | "FUNCTION" | "AGGREGATE" | "TRIGGER" | "ROLE" | "USER"
        ) {
            return Err(self.err_here());
        }
        self.pos = self.toks.len();
        Ok(Statement::Unsupported {
            kind,
            what: format!("DROP {what}"),
        })
    }

    fn alter(&mut self) -> CqlResult<Statement> {
        self.kw("alter")?;
        if self.eat_kw("keyspace") || self.eat_kw("schema") {
            let name = self.ident()?;
            self.kw("with")?;
            let options = self.options()?;
            return Ok(Statement::AlterKeyspace { name, options });
        }
        if self.eat_kw("table") || self.eat_kw("columnfamily") {
            return self.alter_table();
        }
        let what = match self.peek() {
            Some(Tok::Ident(s)) => s.to_ascii_uppercase(),
            _ => return Err(self.err_here()),
        };
        let kind = if matches!(what.as_str(), "ROLE" | "USER") {
            StatementKind::Other
        } else {
            StatementKind::Schema
        };
        if !matches!(what.as_str(), "TYPE" | "MATERIALIZED" | "ROLE" | "USER") {
            return Err(self.err_here());
        }
        self.pos = self.toks.len();
        Ok(Statement::Unsupported {
            kind,
            what: format!("ALTER {what}"),
        })
    }

    fn alter_table(&mut self) -> CqlResult<Statement> {
        let name = self.qualified()?;
        let change = if self.eat_kw("add") {
            let if_not_exists = self.if_not_exists()?;
            let mut columns = Vec::new();
            let paren = self.eat_sym("(");
            loop {
                let cname = self.ident()?;
                let (ty, frozen) = self.cql_type()?;
                let is_static = self.eat_kw("static");
                columns.push(ColumnDef {
                    name: cname,
                    ty,
                    frozen,
                    is_static,
                });
                if !(paren && self.eat_sym(",")) {
                    break;
                }
            }
            if paren {
                self.sym(")")?;
            }
            AlterTable::Add { if_not_exists, columns }
        } else if self.eat_kw("drop") {
            let if_exists = self.if_exists()?;
            let columns = if self.is_sym("(") {
                self.column_list()?
            } else {
                vec![self.ident()?]
            };
            AlterTable::Drop { if_exists, columns }
        } else if self.eat_kw("with") {
            AlterTable::With(self.options()?)
        } else if self.is_kw("rename") || self.is_kw("alter") {
            self.pos = self.toks.len();
            return Ok(Statement::Unsupported {
                kind: StatementKind::Schema,
                what: "ALTER TABLE RENAME/ALTER".into(),
            });
        } else {
            return Err(self.err_here());
        };
        Ok(Statement::AlterTable { name, change })
    }

    /// `name = value AND name = value ...` (WITH options of keyspaces and tables).
    fn options(&mut self) -> CqlResult<Vec<(String, OptionValue)>> {
        let mut out = Vec::new();
        loop {
            out.extend(self.options_single()?);
            if !self.eat_kw("and") {
                break;
            }
        }
        Ok(out)
    }

    fn option_scalar(&mut self) -> CqlResult<String> {
        let neg = self.eat_sym("-");
        let t = self.toks.get(self.pos).cloned().ok_or_else(|| self.err_here())?;
        self.pos += 1;
        let s = match t.tok {
            Tok::Str(s) | Tok::Int(s) | Tok::Float(s) | Tok::Ident(s) | Tok::Quoted(s) => s,
            _ => {
                self.pos -= 1;
                return Err(self.err_here());
            }
        };
        Ok(if neg { format!("-{s}") } else { s })
    }

    fn create_table(&mut self) -> CqlResult<CreateTable> {
        let if_not_exists = self.if_not_exists()?;
        let name = self.qualified()?;
        self.sym("(")?;
        let mut columns = Vec::new();
        let mut partition_key = Vec::new();
        let mut clustering = Vec::new();
        let mut pk_seen = false;
        loop {
            if self.is_kw("primary") {
                self.pos += 1;
                self.kw("key")?;
                if pk_seen {
                    return Err(CqlError::invalid("Multiple PRIMARY KEYs specified (exactly one required)"));
                }
                pk_seen = true;
                self.sym("(")?;
                if self.eat_sym("(") {
                    loop {
                        partition_key.push(self.ident()?);
                        if self.eat_sym(")") {
                            break;
                        }
                        self.sym(",")?;
                    }
                } else {
                    partition_key.push(self.ident()?);
                }
                while self.eat_sym(",") {
                    clustering.push(self.ident()?);
                }
                self.sym(")")?;
            } else {
                let cname = self.ident()?;
                let (ty, frozen) = self.cql_type()?;
                let mut is_static = false;
                if self.eat_kw("static") {
                    is_static = true;
                }
                if self.eat_kw("primary") {
                    self.kw("key")?;
                    if pk_seen {
                        return Err(CqlError::invalid("Multiple PRIMARY KEYs specified (exactly one required)"));
                    }
                    pk_seen = true;
                    partition_key.push(cname.clone());
                }
                columns.push(ColumnDef {
                    name: cname,
                    ty,
                    frozen,
                    is_static,
                });
            }
            if self.eat_sym(")") {
                break;
            }
            self.sym(",")?;
            if self.eat_sym(")") {
                break;
            }
        }
        let mut clustering_order = Vec::new();
        let mut options = Vec::new();
        let mut compact_storage = false;
        if self.eat_kw("with") {
            loop {
                if self.eat_kw("clustering") {
                    self.kw("order")?;
                    self.kw("by")?;
                    self.sym("(")?;
                    loop {
                        let c = self.ident()?;
                        let desc = if self.eat_kw("desc") {
                            true
                        } else {
                            self.eat_kw("asc");
                            false
                        };
                        clustering_order.push((c, desc));
                        if self.eat_sym(")") {
                            break;
                        }
                        self.sym(",")?;
                    }
                } else if self.eat_kw("compact") {
                    self.kw("storage")?;
                    compact_storage = true;
                } else {
                    options.extend(self.options_single()?);
                }
                if !self.eat_kw("and") {
                    break;
                }
            }
        }
        if !pk_seen {
            return Err(CqlError::invalid(
                "No PRIMARY KEY specified for table '".to_string() + &name.name + "' (exactly one required)",
            ));
        }
        Ok(CreateTable {
            name,
            if_not_exists,
            columns,
            partition_key,
            clustering,
            clustering_order,
            options,
            compact_storage,
        })
    }

    fn options_single(&mut self) -> CqlResult<Vec<(String, OptionValue)>> {
        let name = self.ident()?;
        self.sym("=")?;
        let v = match self.peek().cloned() {
            Some(Tok::Sym("{")) => {
                self.pos += 1;
                let mut m = Vec::new();
                if !self.eat_sym("}") {
                    loop {
                        let k = self.option_scalar()?;
                        self.sym(":")?;
                        if self.eat_sym("{") {
                            // A map of maps (Keyspaces's CUSTOM_PROPERTIES = {'ttl': {'status':
                            // 'enabled'}}): flattened to `outer.inner` keys.
                            if !self.eat_sym("}") {
                                loop {
                                    let inner = self.option_scalar()?;
                                    self.sym(":")?;
                                    let v = self.option_scalar()?;
                                    m.push((format!("{k}.{inner}"), v));
                                    if self.eat_sym("}") {
                                        break;
                                    }
                                    self.sym(",")?;
                                }
                            }
                        } else {
                            let v = self.option_scalar()?;
                            m.push((k, v));
                        }
                        if self.eat_sym("}") {
                            break;
                        }
                        self.sym(",")?;
                    }
                }
                OptionValue::Map(m)
            }
            Some(Tok::Ident(s)) if s == "true" || s == "false" => {
                self.pos += 1;
                OptionValue::Const(Literal::Bool(s == "true"))
            }
            Some(Tok::Ident(s)) => {
                self.pos += 1;
                OptionValue::Ident(s)
            }
            _ => match self.term()? {
                Term::Lit(l) => OptionValue::Const(l),
                _ => return Err(self.err_here()),
            },
        };
        Ok(vec![(name, v)])
    }

    /// A CQL type; returns whether it was written `frozen<...>`.
    fn cql_type(&mut self) -> CqlResult<(ColumnType, bool)> {
        if let Some(Tok::Str(s)) = self.peek().cloned() {
            self.pos += 1;
            return Ok((ColumnType::Custom(s), false));
        }
        let name = match self.peek().cloned() {
            Some(Tok::Ident(s)) => s,
            Some(Tok::Quoted(s)) => s,
            _ => return Err(self.err_here()),
        };
        self.pos += 1;
        let ty = match name.as_str() {
            "frozen" => {
                self.sym("<")?;
                let (t, _) = self.cql_type()?;
                self.sym(">")?;
                return Ok((t, true));
            }
            "ascii" => ColumnType::Ascii,
            "bigint" => ColumnType::Bigint,
            "blob" => ColumnType::Blob,
            "boolean" => ColumnType::Boolean,
            "counter" => ColumnType::Counter,
            "decimal" => ColumnType::Decimal,
            "double" => ColumnType::Double,
            "float" => ColumnType::Float,
            "int" => ColumnType::Int,
            "timestamp" => ColumnType::Timestamp,
            "uuid" => ColumnType::Uuid,
            "text" | "varchar" => ColumnType::Varchar,
            "varint" => ColumnType::Varint,
            "timeuuid" => ColumnType::Timeuuid,
            "inet" => ColumnType::Inet,
            "date" => ColumnType::Date,
            "time" => ColumnType::Time,
            "smallint" => ColumnType::Smallint,
            "tinyint" => ColumnType::Tinyint,
            "duration" => ColumnType::Duration,
            "list" | "set" => {
                self.sym("<")?;
                let (t, _) = self.cql_type()?;
                self.sym(">")?;
                if name == "list" {
                    ColumnType::List(Box::new(t))
                } else {
                    ColumnType::Set(Box::new(t))
                }
            }
            "map" => {
                self.sym("<")?;
                let (k, _) = self.cql_type()?;
                self.sym(",")?;
                let (v, _) = self.cql_type()?;
                self.sym(">")?;
                ColumnType::Map(Box::new(k), Box::new(v))
            }
            "tuple" => {
                self.sym("<")?;
                let mut ts = Vec::new();
                loop {
                    ts.push(self.cql_type()?.0);
                    if self.eat_sym(">") {
                        break;
                    }
                    self.sym(",")?;
                }
                return Ok((ColumnType::Tuple(ts), true));
            }
            _ => {
                self.pos -= 1;
                return Err(CqlError::invalid(format!("Unknown type {name}")));
            }
        };
        Ok((ty, false))
    }

    /// Parser.g `native_type` (a CAST's target): a native type name only, no collection,
    /// tuple, frozen or custom type; returns whether it was written `varchar`.
    fn native_type(&mut self) -> CqlResult<(ColumnType, bool)> {
        let varchar = self.is_kw("varchar");
        let native = matches!(self.peek(), Some(Tok::Ident(s)) if !matches!(s.as_str(), "frozen" | "list" | "set" | "map" | "tuple"));
        if !native {
            return Err(self.err_here());
        }
        match self.cql_type() {
            Ok((ty, _)) => Ok((ty, varchar)),
            Err(_) => Err(self.err_here()),
        }
    }

    fn term(&mut self) -> CqlResult<Term> {
        let t = self.toks.get(self.pos).cloned().ok_or_else(|| self.expected("a value"))?;
        self.pos += 1;
        Ok(match t.tok {
            Tok::Str(s) => Term::Lit(Literal::Str(s)),
            Tok::Int(s) => Term::Lit(Literal::Int(s)),
            Tok::Float(s) => Term::Lit(Literal::Float(s)),
            Tok::Hex(b) => Term::Lit(Literal::Hex(b)),
            Tok::Uuid(u) => Term::Lit(Literal::Uuid(u)),
            Tok::Qmark => Term::Bind(None),
            Tok::Named(n) => Term::Bind(Some(n)),
            Tok::Sym("-") => match self.term()? {
                Term::Lit(Literal::Int(s)) => Term::Lit(Literal::Int(format!("-{s}"))),
                Term::Lit(Literal::Float(s)) => Term::Lit(Literal::Float(format!("-{s}"))),
                Term::Lit(Literal::Infinity(neg)) => Term::Lit(Literal::Infinity(!neg)),
                _ => {
                    self.pos -= 1;
                    return Err(self.err_here());
                }
            },
            Tok::Sym("[") => {
                let mut v = Vec::new();
                if !self.eat_sym("]") {
                    loop {
                        v.push(self.term()?);
                        if self.eat_sym("]") {
                            break;
                        }
                        self.sym(",")?;
                    }
                }
                Term::List(v)
            }
            Tok::Sym("{") => {
                if self.eat_sym("}") {
                    return Ok(Term::Map(vec![]));
                }
                let first = self.term()?;
                if self.eat_sym(":") {
                    let v = self.term()?;
                    let mut m = vec![(first, v)];
                    while self.eat_sym(",") {
                        let k = self.term()?;
                        self.sym(":")?;
                        m.push((k, self.term()?));
                    }
                    self.sym("}")?;
                    Term::Map(m)
                } else {
                    let mut s = vec![first];
                    while self.eat_sym(",") {
                        s.push(self.term()?);
                    }
                    self.sym("}")?;
                    Term::Set(s)
                }
            }
            Tok::Sym("(") => {
                // A cast `(type) term` or a tuple literal.
                let save = self.pos;
                if let Ok((ty, _)) = self.cql_type()
                    && self.eat_sym(")")
                    && !self.is_sym(",")
                    && self.pos < self.toks.len()
                    && !self.is_sym(")")
                {
                    let inner = self.term()?;
                    return Ok(Term::Cast(Box::new(inner), ty));
                }
                self.pos = save;
                let mut v = vec![self.term()?];
                while self.eat_sym(",") {
                    v.push(self.term()?);
                }
                self.sym(")")?;
                Term::Tuple(v)
            }
            Tok::Ident(s) => match s.as_str() {
                "true" => Term::Lit(Literal::Bool(true)),
                "false" => Term::Lit(Literal::Bool(false)),
                "null" => Term::Lit(Literal::Null),
                "nan" => Term::Lit(Literal::NaN),
                "infinity" => Term::Lit(Literal::Infinity(false)),
                _ if self.is_sym("(") => {
                    self.pos += 1;
                    let mut args = Vec::new();
                    if !self.eat_sym(")") {
                        loop {
                            args.push(self.term()?);
                            if self.eat_sym(")") {
                                break;
                            }
                            self.sym(",")?;
                        }
                    }
                    Term::Func(s, args)
                }
                _ => {
                    self.pos -= 1;
                    return Err(self.err_here());
                }
            },
            _ => {
                self.pos -= 1;
                return Err(self.err_here());
            }
        })
    }

    fn using(&mut self) -> CqlResult<Using> {
        let mut u = Using::default();
        if self.eat_kw("using") {
            loop {
                if self.eat_kw("ttl") {
                    u.ttl = Some(self.term()?);
                } else if self.eat_kw("timestamp") {
                    u.timestamp = Some(self.term()?);
                } else {
                    return Err(self.expected("TTL or TIMESTAMP"));
                }
                if !self.eat_kw("and") {
                    break;
                }
            }
        }
        Ok(u)
    }

    fn column_list(&mut self) -> CqlResult<Vec<String>> {
        self.sym("(")?;
        let mut v = Vec::new();
        loop {
            v.push(self.ident()?);
            if self.eat_sym(")") {
                break;
            }
            self.sym(",")?;
        }
        Ok(v)
    }

    fn relations(&mut self) -> CqlResult<Vec<Relation>> {
        let mut out = Vec::new();
        loop {
            out.push(self.relation()?);
            if !self.eat_kw("and") {
                break;
            }
        }
        Ok(out)
    }

    fn op(&mut self) -> CqlResult<Op> {
        let op = match self.peek() {
            Some(Tok::Sym("=")) => Op::Eq,
            Some(Tok::Sym("!=")) => Op::Ne,
            Some(Tok::Sym("<")) => Op::Lt,
            Some(Tok::Sym("<=")) => Op::Le,
            Some(Tok::Sym(">")) => Op::Gt,
            Some(Tok::Sym(">=")) => Op::Ge,
            Some(Tok::Ident(s)) if s == "in" => Op::In,
            Some(Tok::Ident(s)) if s == "contains" => {
                self.pos += 1;
                if self.eat_kw("key") {
                    return Ok(Op::ContainsKey);
                }
                return Ok(Op::Contains);
            }
            _ => return Err(self.err_here()),
        };
        self.pos += 1;
        Ok(op)
    }

    fn relation(&mut self) -> CqlResult<Relation> {
        let lhs = if self.is_kw("token") && matches!(self.peek_at(1), Some(Tok::Sym("("))) {
            self.pos += 1;
            Lhs::Token(self.column_list()?)
        } else if self.is_sym("(") {
            Lhs::Tuple(self.column_list()?)
        } else {
            let c = self.ident()?;
            if self.eat_sym("[") {
                let k = self.term()?;
                self.sym("]")?;
                Lhs::Element(c, k)
            } else {
                Lhs::Column(c)
            }
        };
        let op = self.op()?;
        if op == Op::In {
            if matches!(self.peek(), Some(Tok::Qmark) | Some(Tok::Named(_))) {
                let t = self.term()?;
                return Ok(Relation {
                    lhs,
                    op,
                    rhs: vec![t],
                    in_marker: true,
                });
            }
            self.sym("(")?;
            let mut v = Vec::new();
            if !self.eat_sym(")") {
                loop {
                    v.push(self.term()?);
                    if self.eat_sym(")") {
                        break;
                    }
                    self.sym(",")?;
                }
            }
            return Ok(Relation {
                lhs,
                op,
                rhs: v,
                in_marker: false,
            });
        }
        let t = self.term()?;
        Ok(Relation {
            lhs,
            op,
            rhs: vec![t],
            in_marker: false,
        })
    }

    fn selector(&mut self) -> CqlResult<Selector> {
        if self.eat_sym("*") {
            return Ok(Selector::Star);
        }
        let name = self.ident().or_else(|_| {
            // `token` is reserved as a column name but valid as a function here.
            if self.is_kw("token") {
                self.pos += 1;
                Ok("token".to_string())
            } else {
                Err(self.err_here())
            }
        })?;
        if !self.is_sym("(") || matches!(self.peek(), Some(Tok::Quoted(_))) {
            return Ok(Selector::Column(name));
        }
        self.pos += 1;
        let lname = name.to_ascii_lowercase();
        match lname.as_str() {
            "count" => {
                if self.eat_sym("*") {
                    self.sym(")")?;
                    return Ok(Selector::CountStar);
                }
                if let Some(Tok::Int(n)) = self.peek()
                    && n == "1"
                {
                    self.pos += 1;
                    self.sym(")")?;
                    return Ok(Selector::CountStar);
                }
                let c = self.ident()?;
                self.sym(")")?;
                Ok(Selector::Count(c))
            }
            "writetime" | "ttl" => {
                let c = self.ident()?;
                self.sym(")")?;
                Ok(if lname == "ttl" { Selector::Ttl(c) } else { Selector::WriteTime(c) })
            }
            "cast" => {
                let inner = self.selector()?;
                self.kw("as")?;
                let (ty, varchar) = self.native_type()?;
                self.sym(")")?;
                Ok(Selector::Cast(Box::new(inner), ty, varchar))
            }
            "token" => {
                let mut cols = Vec::new();
                loop {
                    cols.push(self.ident()?);
                    if self.eat_sym(")") {
                        break;
                    }
                    self.sym(",")?;
                }
                Ok(Selector::Token(cols))
            }
            _ => {
                let mut args = Vec::new();
                if !self.eat_sym(")") {
                    loop {
                        args.push(self.selector()?);
                        if self.eat_sym(")") {
                            break;
                        }
                        self.sym(",")?;
                    }
                }
                Ok(Selector::Func(lname, args))
            }
        }
    }

    fn select(&mut self) -> CqlResult<Select> {
        self.kw("select")?;
        let json = self.eat_kw("json");
        let distinct = self.eat_kw("distinct");
        let mut items = Vec::new();
        loop {
            let selector = self.selector()?;
            let alias = if self.eat_kw("as") { Some(self.ident()?) } else { None };
            items.push(SelectItem { selector, alias });
            if !self.eat_sym(",") {
                break;
            }
        }
        self.kw("from")?;
        let table = self.qualified()?;
        let mut where_ = Vec::new();
        if self.eat_kw("where") {
            where_ = self.relations()?;
        }
        let mut group_by = Vec::new();
        if self.eat_kw("group") {
            self.kw("by")?;
            loop {
                group_by.push(self.ident()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        let mut order_by = Vec::new();
        if self.eat_kw("order") {
            self.kw("by")?;
            loop {
                let c = self.ident()?;
                let desc = if self.eat_kw("desc") {
                    true
                } else {
                    self.eat_kw("asc");
                    false
                };
                order_by.push((c, desc));
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        let mut per_partition_limit = None;
        if self.is_kw("per") && self.is_kw_at(1, "partition") {
            self.pos += 2;
            self.kw("limit")?;
            per_partition_limit = Some(self.term()?);
        }
        let mut limit = None;
        if self.eat_kw("limit") {
            limit = Some(self.term()?);
        }
        let allow_filtering = if self.eat_kw("allow") {
            self.kw("filtering")?;
            true
        } else {
            false
        };
        Ok(Select {
            table,
            distinct,
            json,
            items,
            where_,
            group_by,
            order_by,
            per_partition_limit,
            limit,
            allow_filtering,
        })
    }

    fn insert(&mut self) -> CqlResult<Insert> {
        self.kw("insert")?;
        self.kw("into")?;
        let table = self.qualified()?;
        if self.is_kw("json") {
            return Err(CqlError::invalid("INSERT JSON is not supported by this node"));
        }
        let columns = self.column_list()?;
        self.kw("values")?;
        self.sym("(")?;
        let mut values = Vec::new();
        loop {
            values.push(self.term()?);
            if self.eat_sym(")") {
                break;
            }
            self.sym(",")?;
        }
        // Cassandra's order (Parser.g normalInsertStatement): IF NOT EXISTS, then USING.
        let if_not_exists = self.if_not_exists()?;
        let using = self.using()?;
        if columns.len() != values.len() {
            return Err(CqlError::invalid("Unmatched column names/values"));
        }
        Ok(Insert {
            table,
            columns,
            values,
            using,
            if_not_exists,
        })
    }

    fn condition(&mut self) -> CqlResult<Condition> {
        if !self.eat_kw("if") {
            return Ok(Condition::None);
        }
        if self.eat_kw("exists") {
            return Ok(Condition::IfExists);
        }
        if self.is_kw("not") && self.is_kw_at(1, "exists") {
            self.pos += 2;
            return Ok(Condition::IfNotExists);
        }
        Ok(Condition::Conds(self.relations()?))
    }

    fn update(&mut self) -> CqlResult<Update> {
        self.kw("update")?;
        let table = self.qualified()?;
        let using = self.using()?;
        self.kw("set")?;
        let mut assignments = Vec::new();
        loop {
            let c = self.ident()?;
            if self.eat_sym("[") {
                let k = self.term()?;
                self.sym("]")?;
                self.sym("=")?;
                assignments.push(Assignment::SetElement(c, k, self.term()?));
            } else {
                self.sym("=")?;
                // `c = c + t`, `c = c - t`, `c = t + c`, or `c = t`.
                let same_col = matches!(self.peek(), Some(Tok::Ident(s)) | Some(Tok::Quoted(s)) if *s == c)
                    && matches!(self.peek_at(1), Some(Tok::Sym("+")) | Some(Tok::Sym("-")));
                if same_col {
                    self.pos += 1;
                    let plus = self.eat_sym("+");
                    if !plus {
                        self.sym("-")?;
                    }
                    let t = self.term()?;
                    assignments.push(if plus { Assignment::Add(c, t) } else { Assignment::Sub(c, t) });
                } else {
                    let t = self.term()?;
                    if self.eat_sym("+") {
                        let c2 = self.ident()?;
                        if c2 != c {
                            return Err(CqlError::invalid("Only expressions of the form X = <value> + X are supported."));
                        }
                        assignments.push(Assignment::Prepend(c, t));
                    } else {
                        assignments.push(Assignment::Set(c, t));
                    }
                }
            }
            if !self.eat_sym(",") {
                break;
            }
        }
        self.kw("where")?;
        let where_ = self.relations()?;
        let condition = self.condition()?;
        Ok(Update {
            table,
            using,
            assignments,
            where_,
            condition,
        })
    }

    fn delete(&mut self) -> CqlResult<Delete> {
        self.kw("delete")?;
        let mut columns = Vec::new();
        if !self.is_kw("from") {
            loop {
                let c = self.ident()?;
                if self.eat_sym("[") {
                    let k = self.term()?;
                    self.sym("]")?;
                    columns.push(Deletion::Element(c, k));
                } else {
                    columns.push(Deletion::Column(c));
                }
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        self.kw("from")?;
        let table = self.qualified()?;
        // Parser.g usingClauseDelete: USING TIMESTAMP only, no TTL, no AND.
        let mut using = Using::default();
        if self.eat_kw("using") {
            if !self.eat_kw("timestamp") {
                return Err(self.expected("K_TIMESTAMP"));
            }
            using.timestamp = Some(self.term()?);
        }
        self.kw("where")?;
        let where_ = self.relations()?;
        let condition = self.condition()?;
        Ok(Delete {
            table,
            columns,
            using,
            where_,
            condition,
        })
    }

    fn batch(&mut self) -> CqlResult<Statement> {
        self.kw("begin")?;
        let kind = if self.eat_kw("unlogged") {
            BatchType::Unlogged
        } else if self.eat_kw("counter") {
            BatchType::Counter
        } else {
            BatchType::Logged
        };
        self.kw("batch")?;
        let using = self.using()?;
        let mut statements = Vec::new();
        // Parser.g batchStatement: each statement is followed by at most one ';'.
        loop {
            if self.eat_kw("apply") {
                self.kw("batch")?;
                break;
            }
            let st = match self.peek() {
                Some(Tok::Ident(s)) if s == "insert" => Statement::Insert(self.insert()?),
                Some(Tok::Ident(s)) if s == "update" => Statement::Update(self.update()?),
                Some(Tok::Ident(s)) if s == "delete" => Statement::Delete(self.delete()?),
                _ => return Err(self.err_here()),
            };
            statements.push(st);
            self.eat_sym(";");
        }
        Ok(Statement::Batch { kind, using, statements })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_issue_statements() {
        let ok = [
            "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1} AND durable_writes = true",
            "CREATE TABLE ks.t (a int, b text, c timeuuid, v map<text, frozen<list<int>>>, PRIMARY KEY ((a, b), c)) WITH CLUSTERING ORDER BY (c DESC) AND comment = 'x'",
            "INSERT INTO t (a, b) VALUES (?, 'it''s') IF NOT EXISTS USING TTL 10 AND TIMESTAMP 5",
            "UPDATE t USING TTL 3 SET c = c + 1, l = [1] + l, m['k'] = 2 WHERE a = :a IF v > 3 AND w IN (1, 2)",
            "DELETE m['x'], v FROM t WHERE a IN (1,2) AND c >= 0xCAFE IF EXISTS",
            "SELECT a, COUNT(*), writetime(v) AS w FROM t WHERE token(a, b) > -5 LIMIT 10 ALLOW FILTERING",
            "BEGIN UNLOGGED BATCH USING TIMESTAMP 1 INSERT INTO t (a) VALUES (1); DELETE FROM t WHERE a = 2; APPLY BATCH;",
            "SELECT * FROM t WHERE id = 123e4567-e89b-12d3-a456-426614174000 AND x = -1.5e3",
        ];
        for q in ok {
            parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        }
    }

    #[test]
    fn errors_are_syntax_errors() {
        for q in [
            "SELEC * FROM t",
            "SELECT FROM",
            "INSERT INTO t (a) VALUES (",
            "'unterminated",
            "SELECT * FROM t WHERE",
        ] {
            let e = parse(q).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::SyntaxError, "{q}: {e:?}");
        }
    }

    #[test]
    fn random_input_never_panics() {
        // A small deterministic fuzz: random token soup and random bytes must only ever error.
        let words = [
            "SELECT",
            "*",
            "FROM",
            "t",
            "WHERE",
            "a",
            "=",
            "?",
            "(",
            ")",
            "'x",
            "'y'",
            "{",
            "}",
            "[",
            "]",
            ",",
            "IN",
            "INSERT",
            "INTO",
            "VALUES",
            "IF",
            "NOT",
            "EXISTS",
            "0x",
            "1.5e",
            "-",
            "token",
            "BEGIN",
            "BATCH",
            "APPLY",
            ":",
            "\"q",
            "/*",
            "$$",
            "é",
            "\"日本\"",
            "'ü",
            "--",
            "frozen<",
            "map<",
            ">",
            "1",
            "2e9999",
            "CREATE",
            "TABLE",
            "PRIMARY",
            "KEY",
        ];
        let mut seed: u64 = 0x9e3779b97f4a7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20000 {
            let n = (next() % 12) as usize;
            let mut q = String::new();
            for _ in 0..n {
                q.push_str(words[(next() % words.len() as u64) as usize]);
                if next() % 3 > 0 {
                    q.push(' ');
                }
            }
            let _ = parse(&q);
            let bytes: Vec<u8> = (0..(next() % 20)).map(|_| (next() % 128) as u8).collect();
            let _ = parse(&String::from_utf8_lossy(&bytes));
        }
    }
}
