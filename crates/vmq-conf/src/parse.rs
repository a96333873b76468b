//! The `vernemq.conf` line grammar (cuttlefish's): `key = value` settings, `#` comments (whole
//! line or after a value), blank lines, `include path-or-glob`, single-quoted values that may
//! contain `#`, keys made of `[A-Za-z0-9_-]` words joined by dots (`\.` escapes a dot). Also the
//! include expansion (relative to the including file, globs with `*` and `?`), the only file
//! I/O of the crate.

use std::path::{Path, PathBuf};

use crate::error::{ConfigError, ConfigErrors, Origin};

/// One `key = value` setting with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The key as written.
    pub key: String,
    /// The value, trimmed, quotes removed.
    pub value: String,
    /// Where it was written.
    pub origin: Origin,
}

/// A parsed line that matters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// `key = value`.
    Setting(Setting),
    /// `include pattern`, with the origin of the include line.
    Include(String, Origin),
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Parses a key at the start of `s`; returns the key and the rest.
fn parse_key(s: &str) -> Option<(&str, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut word_len = 0;
    loop {
        if i + 1 < b.len() && b[i] == b'\\' && b[i + 1] == b'.' {
            i += 2;
            word_len += 1;
        } else if i < b.len() && is_word_byte(b[i]) {
            i += 1;
            word_len += 1;
        } else if i < b.len() && b[i] == b'.' && word_len > 0 {
            i += 1;
            word_len = 0;
            // a dot must be followed by another word
            if i >= b.len() || !(is_word_byte(b[i]) || b[i] == b'\\') {
                return None;
            }
        } else {
            break;
        }
    }
    if word_len == 0 {
        return None;
    }
    Some((&s[..i], &s[i..]))
}

/// Parses one line (without its line ending). `Ok(None)` for blank lines and comments.
fn parse_line(raw: &str, origin: &Origin) -> Result<Option<Line>, String> {
    let line = raw.trim_start_matches([' ', '\t']);
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    if let Some(rest) = line.strip_prefix("include") {
        if rest.as_bytes().first().copied().is_some_and(is_ws) {
            let rest = rest.trim_start_matches([' ', '\t']);
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.*/".contains(c)))
                .unwrap_or(rest.len());
            let (path, tail) = rest.split_at(end);
            let tail = tail.trim_start_matches([' ', '\t']);
            if !path.is_empty() && (tail.is_empty() || tail.starts_with('#')) {
                return Ok(Some(Line::Include(path.to_string(), origin.clone())));
            }
        }
    }
    let Some((key, rest)) = parse_key(line) else {
        return Err("expected 'key = value', an include or a # comment".into());
    };
    let rest = rest.trim_start_matches([' ', '\t']);
    let Some(rest) = rest.strip_prefix('=') else {
        return Err(format!("expected '=' after key '{key}'"));
    };
    let rest = rest.trim_start_matches([' ', '\t']);
    let value = if let Some(q) = rest.strip_prefix('\'') {
        let Some(end) = q.find('\'') else {
            return Err(format!("unterminated quoted value for key '{key}'"));
        };
        let tail = q[end + 1..].trim_start_matches([' ', '\t']);
        if !(tail.is_empty() || tail.starts_with('#')) {
            return Err(format!(
                "unexpected text after quoted value for key '{key}'"
            ));
        }
        q[..end].to_string()
    } else {
        let v = match rest.find('#') {
            Some(i) => &rest[..i],
            None => rest,
        };
        let v = v.trim_end_matches([' ', '\t']);
        if v.is_empty() {
            return Err(format!("missing value for key '{key}'"));
        }
        v.to_string()
    };
    Ok(Some(Line::Setting(Setting {
        key: key.to_string(),
        value,
        origin: origin.clone(),
    })))
}

/// Parses a whole text. `file` names it in origins (e.g. `vernemq.conf`). Syntax errors are
/// pushed to `errors`; the other lines are still returned.
pub fn parse_text(text: &str, file: &str, errors: &mut ConfigErrors) -> Vec<Line> {
    let mut out = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let origin = Origin::File {
            file: file.to_string(),
            line: i + 1,
        };
        match parse_line(raw, &origin) {
            Ok(Some(l)) => out.push(l),
            Ok(None) => {}
            Err(message) => errors.push(ConfigError::Syntax { origin, message }),
        }
    }
    out
}

/// How deep includes may nest (guards against include cycles).
const MAX_INCLUDE_DEPTH: usize = 16;

/// Reads `path` and every file it includes, in order, into settings.
pub fn read_file(path: &Path, errors: &mut ConfigErrors) -> Vec<Setting> {
    let mut out = Vec::new();
    read_file_into(path, &path.display().to_string(), 0, errors, &mut out);
    out
}

fn read_file_into(
    path: &Path,
    display: &str,
    depth: usize,
    errors: &mut ConfigErrors,
    out: &mut Vec<Setting>,
) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(source) => {
            errors.push(ConfigError::Io {
                path: path.to_path_buf(),
                source,
            });
            return;
        }
    };
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    expand(&text, display, &base, depth, errors, out);
}

/// Parses `text` (named `display`) and expands its includes relative to `base`.
pub fn expand(
    text: &str,
    display: &str,
    base: &Path,
    depth: usize,
    errors: &mut ConfigErrors,
    out: &mut Vec<Setting>,
) {
    for line in parse_text(text, display, errors) {
        match line {
            Line::Setting(s) => out.push(s),
            Line::Include(pattern, origin) => {
                if depth >= MAX_INCLUDE_DEPTH {
                    errors.push(ConfigError::Include {
                        origin,
                        pattern,
                        reason: format!("includes nest deeper than {MAX_INCLUDE_DEPTH} levels"),
                    });
                    continue;
                }
                let is_glob = pattern.contains(['*', '?']);
                let full = base.join(&pattern);
                let files = if is_glob {
                    glob(&full)
                } else if full.is_file() {
                    vec![full]
                } else {
                    errors.push(ConfigError::Include {
                        origin,
                        pattern,
                        reason: "no such file".into(),
                    });
                    continue;
                };
                for f in files {
                    let shown = f.display().to_string();
                    read_file_into(&f, &shown, depth + 1, errors, out);
                }
            }
        }
    }
}

/// Files matching a path whose components may contain `*` and `?`, sorted. Missing
/// directories simply match nothing.
pub fn glob(pattern: &Path) -> Vec<PathBuf> {
    let mut current: Vec<PathBuf> = vec![PathBuf::new()];
    let comps: Vec<_> = pattern.components().collect();
    for (i, comp) in comps.iter().enumerate() {
        let part = comp.as_os_str().to_string_lossy();
        let last = i + 1 == comps.len();
        let mut next = Vec::new();
        for dir in &current {
            if part.contains(['*', '?']) {
                let read_dir = if dir.as_os_str().is_empty() {
                    std::fs::read_dir(".")
                } else {
                    std::fs::read_dir(dir)
                };
                let Ok(entries) = read_dir else { continue };
                let mut names: Vec<String> = entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.') && wildcard_match(&part, n))
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|n| dir.join(n)));
            } else {
                next.push(dir.join(comp.as_os_str()));
            }
        }
        current = next
            .into_iter()
            .filter(|p| if last { p.is_file() } else { p.is_dir() })
            .collect();
    }
    current
}

/// `*` (any run) and `?` (any one character) matching of a whole name.
fn wildcard_match(pat: &str, name: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> (Vec<Line>, ConfigErrors) {
        let mut e = ConfigErrors::default();
        let l = parse_text(text, "t.conf", &mut e);
        (l, e)
    }

    fn kv(l: &Line) -> (&str, &str) {
        match l {
            Line::Setting(s) => (&s.key, &s.value),
            Line::Include(p, _) => ("include", p),
        }
    }

    #[test]
    fn grammar() {
        let (l, e) = settings(
            "# c\n\n  a.b = 1 # trailing\nc\t=\t'x # y'\ninclude conf.d/*.conf\nd.e\\.f = v=w\r\n",
        );
        assert!(e.is_empty(), "{e}");
        let got: Vec<_> = l.iter().map(kv).collect();
        assert_eq!(
            got,
            vec![
                ("a.b", "1"),
                ("c", "x # y"),
                ("include", "conf.d/*.conf"),
                ("d.e\\.f", "v=w")
            ]
        );
    }

    #[test]
    fn syntax_errors_name_line() {
        let (_, e) = settings("a = 1\nnot a setting\nb =\nc = 'open\n.x = 1\n");
        let msgs: Vec<String> = e.iter().map(ToString::to_string).collect();
        assert_eq!(msgs.len(), 4, "{msgs:?}");
        assert!(msgs[0].starts_with("t.conf:2: syntax error"));
        assert!(msgs[1].starts_with("t.conf:3: syntax error"));
        assert!(msgs[2].starts_with("t.conf:4:"));
        assert!(msgs[3].starts_with("t.conf:5:"));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*.conf", "a.conf"));
        assert!(!wildcard_match("*.conf", "a.conf.bak"));
        assert!(wildcard_match("a?c*", "abcdef"));
        assert!(!wildcard_match("a?c", "ac"));
    }
}
