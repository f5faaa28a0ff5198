//! CQL tokens. Keywords are not reserved here: the parser reads identifiers case-insensitively
//! where it expects a keyword, which keeps names like `key` or `type` usable as columns.

use crate::error::{CqlError, CqlResult};

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// Unquoted identifier or keyword, lower-cased (CQL folds unquoted names).
    Ident(String),
    /// "Quoted" identifier, case kept.
    Quoted(String),
    Str(String),
    Int(String),
    Float(String),
    Hex(Vec<u8>),
    Uuid(uuid::Uuid),
    Sym(&'static str),
    Qmark,
    Named(String),
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub line: usize,
    pub col: usize,
    /// The text as written, for error messages.
    pub text: String,
}

const SYMS: [&str; 21] = [
    "!=", "<=", ">=", "(", ")", ",", ";", "=", "<", ">", ".", "*", "[", "]", "{", "}", ":", "+", "-", "?", "/",
];

fn is_uuid_at(s: &[u8], i: usize) -> bool {
    const SHAPE: [usize; 5] = [8, 4, 4, 4, 12];
    let mut p = i;
    for (n, len) in SHAPE.iter().enumerate() {
        for _ in 0..*len {
            match s.get(p) {
                Some(c) if c.is_ascii_hexdigit() => p += 1,
                _ => return false,
            }
        }
        if n < 4 {
            if s.get(p) != Some(&b'-') {
                return false;
            }
            p += 1;
        }
    }
    !matches!(s.get(p), Some(c) if c.is_ascii_alphanumeric() || *c == b'_')
}

pub fn tokenize(input: &str) -> CqlResult<Vec<Token>> {
    let s = input.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let mut line_start = 0;
    while i < s.len() {
        let c = s[i];
        if c == b'\n' {
            line += 1;
            i += 1;
            line_start = i;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // Comments: -- and // to end of line, /* */ blocks.
        if (c == b'-' && s.get(i + 1) == Some(&b'-')) || (c == b'/' && s.get(i + 1) == Some(&b'/')) {
            while i < s.len() && s[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && s.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < s.len() && !(s[i] == b'*' && s.get(i + 1) == Some(&b'/')) {
                if s[i] == b'\n' {
                    line += 1;
                    line_start = i + 1;
                }
                i += 1;
            }
            i = (i + 2).min(s.len());
            continue;
        }
        let col = i - line_start;
        let start = i;
        let tok = if c == b'\'' {
            let mut v = Vec::new();
            i += 1;
            loop {
                match s.get(i) {
                    None => {
                        return Err(CqlError::syntax(format!(
                            "line {line}:{col} mismatched character '<EOF>' expecting '''"
                        )));
                    }
                    Some(b'\'') if s.get(i + 1) == Some(&b'\'') => {
                        v.push(b'\'');
                        i += 2;
                    }
                    Some(b'\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        if *ch == b'\n' {
                            line += 1;
                            line_start = i + 1;
                        }
                        v.push(*ch);
                        i += 1;
                    }
                }
            }
            Tok::Str(String::from_utf8_lossy(&v).into_owned())
        } else if c == b'$' && s.get(i + 1) == Some(&b'$') {
            i += 2;
            let body_start = i;
            while i < s.len() && !(s[i] == b'$' && s.get(i + 1) == Some(&b'$')) {
                i += 1;
            }
            if i >= s.len() {
                return Err(CqlError::syntax(format!("line {line}:{col} unterminated $$ string")));
            }
            let v = input[body_start..i].to_string();
            i += 2;
            Tok::Str(v)
        } else if c == b'"' {
            let mut v = String::new();
            i += 1;
            loop {
                match s.get(i) {
                    None => {
                        return Err(CqlError::syntax(format!(
                            "line {line}:{col} mismatched character '<EOF>' expecting '\"'"
                        )));
                    }
                    Some(b'"') if s.get(i + 1) == Some(&b'"') => {
                        v.push('"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(_) => {
                        let ch = input[i..].chars().next().unwrap_or('?');
                        v.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            Tok::Quoted(v)
        } else if c == b'0' && matches!(s.get(i + 1), Some(b'x') | Some(b'X')) && !is_uuid_at(s, i) {
            i += 2;
            let hs = i;
            while i < s.len() && s[i].is_ascii_hexdigit() {
                i += 1;
            }
            let hex = &input[hs..i];
            if !hex.len().is_multiple_of(2) {
                return Err(CqlError::syntax(format!(
                    "line {line}:{col} Invalid hex blob literal 0x{hex}: odd number of digits"
                )));
            }
            let mut bytes = Vec::with_capacity(hex.len() / 2);
            for k in (0..hex.len()).step_by(2) {
                bytes.push(u8::from_str_radix(&hex[k..k + 2], 16).map_err(|_| CqlError::syntax("bad hex"))?);
            }
            Tok::Hex(bytes)
        } else if c.is_ascii_hexdigit() && is_uuid_at(s, i) {
            i += 36;
            let u = uuid::Uuid::parse_str(&input[start..i]).map_err(|e| CqlError::syntax(e.to_string()))?;
            Tok::Uuid(u)
        } else if c.is_ascii_digit() {
            while i < s.len() && s[i].is_ascii_digit() {
                i += 1;
            }
            let mut float = false;
            if i < s.len() && s[i] == b'.' && s.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
                float = true;
                i += 1;
                while i < s.len() && s[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < s.len() && (s[i] == b'e' || s[i] == b'E') {
                let mut j = i + 1;
                if j < s.len() && (s[j] == b'+' || s[j] == b'-') {
                    j += 1;
                }
                if j < s.len() && s[j].is_ascii_digit() {
                    float = true;
                    i = j;
                    while i < s.len() && s[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            if i < s.len() && (s[i].is_ascii_alphabetic() || s[i] == b'_') {
                // Durations (1h30m) and odd identifiers: not supported as literals.
                while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'_') {
                    i += 1;
                }
                return Err(CqlError::syntax(format!(
                    "line {line}:{col} no viable alternative at input '{}'",
                    &input[start..i]
                )));
            }
            let text = input[start..i].to_string();
            if float { Tok::Float(text) } else { Tok::Int(text) }
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'_') {
                i += 1;
            }
            Tok::Ident(input[start..i].to_ascii_lowercase())
        } else if c == b':' && s.get(i + 1).is_some_and(|d| d.is_ascii_alphabetic() || *d == b'_') {
            i += 1;
            let ns = i;
            while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'_') {
                i += 1;
            }
            Tok::Named(input[ns..i].to_ascii_lowercase())
        } else {
            let mut found = None;
            for sym in SYMS {
                if s[i..].starts_with(sym.as_bytes()) {
                    found = Some(sym);
                    break;
                }
            }
            match found {
                Some("?") => {
                    i += 1;
                    Tok::Qmark
                }
                Some(sym) => {
                    i += sym.len();
                    Tok::Sym(sym)
                }
                None => {
                    let ch = input[i..].chars().next().unwrap_or('?');
                    return Err(CqlError::syntax(format!(
                        "line {line}:{col} no viable alternative at character '{ch}'"
                    )));
                }
            }
        };
        let end = i.min(input.len());
        let text = input.get(start..end).unwrap_or("").to_string();
        out.push(Token { tok, line, col, text });
    }
    Ok(out)
}
