//! MLflow's search language: the filter grammar, parsed into typed clauses,
//! and `order_by`. Values only ever reach SQL as bound parameters; anything
//! outside the grammar is refused with a message naming what was wrong.
//!
//! ```text
//! filter  := clause ("AND" clause)*
//! clause  := field op value | field "IN" "(" value ("," value)* ")"
//! field   := name | run_id | source_path | version_number
//!          | ("tags" | "tag") "." key | "attribute." field | "`" field "`"
//! key     := identifier | "`" anything but "`" "`" | '"' text '"'
//! op      := "=" | "!=" | "<>" | "LIKE" | "ILIKE" | "<" | "<=" | ">" | ">="
//! value   := 'text' | "text" | integer
//! ```

/// Which search the filter is for: they accept different fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Models,
    Versions,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Name,
    RunId,
    SourcePath,
    VersionNumber,
    Tag(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Like,
    ILike,
    Lt,
    Le,
    Gt,
    Ge,
    In,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    Text(String),
    Number(i64),
    List(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub field: Field,
    pub op: Op,
    pub value: Operand,
}

/// The longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 10_000;
const MAX_CLAUSES: usize = 50;
const MAX_IN_VALUES: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Backticked(String),
    Number(i64),
    Op(&'static str),
    Dot,
    Comma,
    Open,
    Close,
}

fn tokenize(input: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '\'' | '"' => {
                let quote = c;
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("unterminated string starting with {quote}")),
                        // A doubled quote stands for one quote character.
                        Some(&q) if q == quote && chars.get(i + 1) == Some(&quote) => {
                            text.push(quote);
                            i += 2;
                        }
                        Some(&q) if q == quote => {
                            i += 1;
                            break;
                        }
                        Some(&other) => {
                            text.push(other);
                            i += 1;
                        }
                    }
                }
                tokens.push(Token::Quoted(text));
            }
            '`' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '`')
                    .ok_or("unterminated backtick")?;
                tokens.push(Token::Backticked(
                    chars[i + 1..i + 1 + end].iter().collect(),
                ));
                i += end + 2;
            }
            '.' => {
                tokens.push(Token::Dot);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '=' => {
                tokens.push(Token::Op("="));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                tokens.push(Token::Op("!="));
                i += 2;
            }
            '<' | '>' => {
                let op = match (c, chars.get(i + 1)) {
                    ('<', Some('=')) => "<=",
                    ('>', Some('=')) => ">=",
                    ('<', Some('>')) => "!=",
                    ('<', _) => "<",
                    _ => ">",
                };
                i += if op.len() == 2 { 2 } else { 1 };
                tokens.push(Token::Op(op));
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let start = i;
                i += 1;
                while chars.get(i).is_some_and(|d| d.is_ascii_digit()) {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n = text
                    .parse::<i64>()
                    .map_err(|_| format!("number {text} is out of range"))?;
                tokens.push(Token::Number(n));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|d| d.is_ascii_alphanumeric() || *d == '_' || *d == '-')
                {
                    i += 1;
                }
                tokens.push(Token::Word(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected character {other:?}")),
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    entity: Entity,
}

impl Parser {
    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn field(&mut self) -> Result<Field, String> {
        let first = match self.next() {
            Some(Token::Word(w)) | Some(Token::Backticked(w)) => w,
            other => {
                return Err(format!(
                    "expected a field name, found {}",
                    describe(other.as_ref())
                ))
            }
        };
        let lower = first.to_ascii_lowercase();
        if matches!(lower.as_str(), "tags" | "tag") && self.peek() == Some(&Token::Dot) {
            self.pos += 1;
            let key = match self.next() {
                Some(Token::Word(w)) | Some(Token::Backticked(w)) | Some(Token::Quoted(w)) => w,
                other => {
                    return Err(format!(
                        "expected a tag key, found {}",
                        describe(other.as_ref())
                    ))
                }
            };
            if key.is_empty() || key.len() > 250 {
                return Err("a tag key must have 1 to 250 characters".into());
            }
            return Ok(Field::Tag(key));
        }
        if matches!(lower.as_str(), "attribute" | "attributes") && self.peek() == Some(&Token::Dot)
        {
            self.pos += 1;
            return self.field();
        }
        let field = match lower.as_str() {
            "name" => Field::Name,
            "run_id" if self.entity == Entity::Versions => Field::RunId,
            "source_path" if self.entity == Entity::Versions => Field::SourcePath,
            "version_number" if self.entity == Entity::Versions => Field::VersionNumber,
            _ => {
                let allowed = match self.entity {
                    Entity::Models => "name, tags.<key>",
                    Entity::Versions => "name, run_id, source_path, version_number, tags.<key>",
                };
                return Err(format!(
                    "invalid attribute key {first:?}; valid keys are {allowed}"
                ));
            }
        };
        Ok(field)
    }

    fn op(&mut self) -> Result<Op, String> {
        Ok(match self.next() {
            Some(Token::Op("=")) => Op::Eq,
            Some(Token::Op("!=")) => Op::Ne,
            Some(Token::Op("<")) => Op::Lt,
            Some(Token::Op("<=")) => Op::Le,
            Some(Token::Op(">")) => Op::Gt,
            Some(Token::Op(">=")) => Op::Ge,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("LIKE") => Op::Like,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("ILIKE") => Op::ILike,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("IN") => Op::In,
            other => {
                return Err(format!(
                    "expected a comparison operator, found {}",
                    describe(other.as_ref())
                ))
            }
        })
    }

    fn clause(&mut self) -> Result<Clause, String> {
        let field = self.field()?;
        let op = self.op()?;
        let value = if op == Op::In {
            if field != Field::RunId {
                return Err("IN is only supported for run_id".into());
            }
            if self.next() != Some(Token::Open) {
                return Err("expected ( after IN".into());
            }
            let mut values = Vec::new();
            loop {
                match self.next() {
                    Some(Token::Quoted(v)) => values.push(v),
                    other => {
                        return Err(format!(
                            "expected a quoted string in the IN list, found {}",
                            describe(other.as_ref())
                        ))
                    }
                }
                match self.next() {
                    Some(Token::Comma) => continue,
                    Some(Token::Close) => break,
                    other => {
                        return Err(format!(
                            "expected , or ) in the IN list, found {}",
                            describe(other.as_ref())
                        ))
                    }
                }
            }
            if values.len() > MAX_IN_VALUES {
                return Err(format!("an IN list holds at most {MAX_IN_VALUES} values"));
            }
            Operand::List(values)
        } else {
            match (self.next(), &field) {
                (Some(Token::Number(n)), Field::VersionNumber) => Operand::Number(n),
                (Some(Token::Quoted(v)), Field::VersionNumber) => Operand::Number(
                    v.trim()
                        .parse()
                        .map_err(|_| format!("version_number must be an integer, not {v:?}"))?,
                ),
                (Some(Token::Quoted(v)), _) => Operand::Text(v),
                (other, _) => {
                    return Err(format!(
                        "expected a quoted value, found {}",
                        describe(other.as_ref())
                    ))
                }
            }
        };
        let numeric = field == Field::VersionNumber;
        let allowed = match op {
            Op::Eq | Op::Ne => true,
            Op::Like | Op::ILike => !numeric,
            Op::Lt | Op::Le | Op::Gt | Op::Ge => numeric,
            Op::In => true,
        };
        if !allowed {
            return Err(format!("operator {op:?} is not supported for this field"));
        }
        Ok(Clause { field, op, value })
    }
}

fn describe(token: Option<&Token>) -> String {
    match token {
        None => "the end of the filter".into(),
        Some(Token::Word(w)) => format!("{w:?}"),
        Some(Token::Quoted(w)) => format!("the string {w:?}"),
        Some(Token::Backticked(w)) => format!("`{w}`"),
        Some(Token::Number(n)) => n.to_string(),
        Some(Token::Op(op)) => (*op).to_owned(),
        Some(Token::Dot) => "\".\"".into(),
        Some(Token::Comma) => "\",\"".into(),
        Some(Token::Open) => "\"(\"".into(),
        Some(Token::Close) => "\")\"".into(),
    }
}

/// Parses a filter string; empty means no condition.
pub fn parse(input: &str, entity: Entity) -> Result<Vec<Clause>, String> {
    if input.len() > MAX_FILTER_LEN {
        return Err(format!("the filter is longer than {MAX_FILTER_LEN} bytes"));
    }
    let tokens = tokenize(input)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        entity,
    };
    let mut clauses = Vec::new();
    if parser.peek().is_none() {
        return Ok(clauses);
    }
    loop {
        clauses.push(parser.clause()?);
        match parser.next() {
            None => break,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("AND") => {}
            Some(other) => {
                return Err(format!(
                    "expected AND between comparisons, found {}",
                    describe(Some(&other))
                ))
            }
        }
        if clauses.len() >= MAX_CLAUSES {
            return Err(format!("a filter holds at most {MAX_CLAUSES} comparisons"));
        }
    }
    Ok(clauses)
}

/// A LIKE pattern as a GLOB pattern (SQLite's case-sensitive match):
/// `%` → `*`, `_` → `?`, GLOB's own specials made literal.
pub fn like_to_glob(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        match c {
            '%' => out.push('*'),
            '_' => out.push('?'),
            '*' | '?' | '[' | ']' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            other => out.push(other),
        }
    }
    out
}

/// The range `[low, high)` (in byte order, the order names sort in) that
/// holds every text a LIKE pattern can match, when the pattern starts with
/// literal text: `fraud-%` → `("fraud-", "fraud.")`. A search adds it as
/// two plain comparisons, so an index range serves the LIKE even where the
/// database plans the statement before it sees the pattern (Postgres'
/// generic plans for prepared statements).
pub fn like_range(pattern: &str) -> Option<(String, String)> {
    let low: String = pattern
        .chars()
        .take_while(|c| *c != '%' && *c != '_')
        .collect();
    let last = low.chars().last()?;
    let next = char::from_u32(u32::from(last) + 1)?;
    let mut high = low[..low.len() - last.len_utf8()].to_owned();
    high.push(next);
    Some((low, high))
}

/// A sort key of `order_by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Created,
    Updated,
    VersionNumber,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    pub key: SortKey,
    pub descending: bool,
}

/// `order_by` entries such as `name ASC` or `last_updated_timestamp DESC`;
/// `version_number` only for version searches.
pub fn parse_order_by<S: AsRef<str>>(raw: &[S], entity: Entity) -> Result<Vec<Order>, String> {
    raw.iter()
        .map(|raw| {
            let raw = raw.as_ref();
            let mut words = raw.split_whitespace();
            let column = words.next().unwrap_or("").trim_matches('`');
            let descending = match words.next().map(str::to_ascii_uppercase).as_deref() {
                None | Some("ASC") => false,
                Some("DESC") => true,
                Some(other) => {
                    return Err(format!("Invalid order_by direction {other:?} in {raw:?}."))
                }
            };
            if words.next().is_some() {
                return Err(format!("Invalid order_by clause {raw:?}."));
            }
            let key = match column
                .strip_prefix("attributes.")
                .or_else(|| column.strip_prefix("attribute."))
                .unwrap_or(column)
            {
                "name" => SortKey::Name,
                "creation_timestamp" | "timestamp" => SortKey::Created,
                "last_updated_timestamp" => SortKey::Updated,
                "version_number" if entity == Entity::Versions => SortKey::VersionNumber,
                other => return Err(format!("Invalid order_by key {other:?}.")),
            };
            Ok(Order { key, descending })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models(f: &str) -> Result<Vec<Clause>, String> {
        parse(f, Entity::Models)
    }

    fn versions(f: &str) -> Result<Vec<Clause>, String> {
        parse(f, Entity::Versions)
    }

    fn text(field: Field, op: Op, v: &str) -> Clause {
        Clause {
            field,
            op,
            value: Operand::Text(v.into()),
        }
    }

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(models(""), Ok(vec![]));
        assert_eq!(models("  "), Ok(vec![]));
        assert_eq!(
            models("name = 'fraud'"),
            Ok(vec![text(Field::Name, Op::Eq, "fraud")])
        );
        assert_eq!(
            models("name LIKE 'fraud%' and tags.team != \"risk\""),
            Ok(vec![
                text(Field::Name, Op::Like, "fraud%"),
                text(Field::Tag("team".into()), Op::Ne, "risk"),
            ])
        );
        assert_eq!(
            models("tags.`mlflow.source.type` ILIKE '%job%'"),
            Ok(vec![text(
                Field::Tag("mlflow.source.type".into()),
                Op::ILike,
                "%job%"
            )])
        );
        assert_eq!(
            models("`name` = 'it''s'"),
            Ok(vec![text(Field::Name, Op::Eq, "it's")])
        );
        assert_eq!(
            versions("run_id IN ('a1', 'b2') AND version_number >= 2 AND source_path = 's3://b/k'"),
            Ok(vec![
                Clause {
                    field: Field::RunId,
                    op: Op::In,
                    value: Operand::List(vec!["a1".into(), "b2".into()])
                },
                Clause {
                    field: Field::VersionNumber,
                    op: Op::Ge,
                    value: Operand::Number(2)
                },
                text(Field::SourcePath, Op::Eq, "s3://b/k"),
            ])
        );
        assert_eq!(
            versions("attributes.version_number < '10'"),
            Ok(vec![Clause {
                field: Field::VersionNumber,
                op: Op::Lt,
                value: Operand::Number(10)
            }])
        );
    }

    #[test]
    fn refuses_hostile_and_malformed_input() {
        let long = format!("name = '{}'", "a".repeat(MAX_FILTER_LEN));
        let many = vec!["name = 'a'"; MAX_CLAUSES + 1].join(" AND ");
        for bad in [
            "name = 'x'; DROP TABLE models; --",
            "name = 'x' -- comment",
            "name = 'x' /* c */",
            "name = 'x' OR 1 = 1",
            "name = 'x' OR name = 'y'",
            "(name = 'x')",
            "name = 'unterminated",
            "name = x",
            "name = 1",
            "name",
            "name =",
            "= 'x'",
            "name = 'a' AND",
            "name = 'a' name = 'b'",
            "run_id = 'a'",
            "version_number = 1",
            "description = 'x'",
            "tags.",
            "tags.`unterminated = 'x'",
            "name IN ('a')",
            "name < 'b'",
            long.as_str(),
            many.as_str(),
            "name = 'a'\u{0}",
            "name == 'a'",
        ] {
            assert!(models(bad).is_err(), "{bad:?} should be refused");
        }
        for bad in [
            "run_id IN ('a'",
            "run_id IN ('a',)",
            "run_id IN (1)",
            "run_id IN 'a'",
            "version_number = 'two'",
            "version_number LIKE '1%'",
            "version_number = 99999999999999999999",
            "source_path > 'a'",
        ] {
            assert!(versions(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn quotes_and_sql_inside_strings_stay_data() {
        let hostile = "x' OR '1'='1";
        let filter = format!("name = '{}'", hostile.replace('\'', "''"));
        assert_eq!(
            models(&filter),
            Ok(vec![text(Field::Name, Op::Eq, hostile)])
        );
        assert_eq!(
            models("name = '; DROP TABLE models; --'"),
            Ok(vec![text(Field::Name, Op::Eq, "; DROP TABLE models; --")])
        );
    }

    #[test]
    fn like_patterns_become_case_sensitive_globs() {
        assert_eq!(like_to_glob("fraud%"), "fraud*");
        assert_eq!(
            parse_order_by(&["name DESC", "`creation_timestamp`"], Entity::Models),
            Ok(vec![
                Order {
                    key: SortKey::Name,
                    descending: true
                },
                Order {
                    key: SortKey::Created,
                    descending: false
                },
            ])
        );
        assert!(parse_order_by(&["version_number"], Entity::Models).is_err());
        assert!(parse_order_by(&["name sideways"], Entity::Models).is_err());
        assert!(parse_order_by(&["name ASC extra"], Entity::Versions).is_err());
        assert_eq!(like_to_glob("a_c"), "a?c");
        assert_eq!(like_to_glob("star*[x]?"), "star[*][[]x[]][?]");
    }

    #[test]
    fn like_ranges_bound_every_match() {
        let range = like_range;
        assert_eq!(range("fraud-%"), Some(("fraud-".into(), "fraud.".into())));
        assert_eq!(range("ab_d%"), Some(("ab".into(), "ac".into())));
        assert_eq!(range("exact"), Some(("exact".into(), "exacu".into())));
        assert_eq!(range("%fraud"), None, "no literal start: no range");
        assert_eq!(range("_x"), None);
        assert_eq!(range(""), None);
        assert_eq!(
            range("caf\u{e9}%"),
            Some(("caf\u{e9}".into(), "caf\u{ea}".into()))
        );
        // The last character before a surrogate has no successor: no range.
        assert_eq!(range("\u{d7ff}%"), None);
        for name in ["fraud-", "fraud-x", "fraud-\u{10ffff}", "fraud-~"] {
            let (low, high) = like_range("fraud-%").expect("range");
            assert!(low.as_str() <= name && name < high.as_str(), "{name}");
        }
    }
}
