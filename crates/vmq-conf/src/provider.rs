//! The merge layer: each source (schema defaults, the embedded default file, the configuration
//! file(s), the environment) becomes a figment [`Provider`]; figment merges them in that order,
//! later sources winning. Keys that are both a value and a prefix (`listener.tcp.default` and
//! `listener.tcp.default.mountpoint`) cannot nest as they are, so every value is stored under a
//! reserved child segment [`VALUE_SEGMENT`] before nesting, and taken out again when the merged
//! tree is flattened into the raw key map. Each leaf's figment tag leads back to its layer,
//! and the layer's own index gives the file and line.

use std::collections::{BTreeMap, HashMap};

use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use crate::error::{ConfigError, Origin};
use crate::parse::Setting;
use crate::schema::split_key;

/// The child segment that holds a key's own value in the nested tree. No key segment can be
/// `=` (keys are `[A-Za-z0-9_-]` words), so it never collides with a real key.
pub const VALUE_SEGMENT: &str = "=";

/// A key's final value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawValue {
    /// The value as written (quotes removed).
    pub value: String,
    /// Where the winning value was set.
    pub origin: Origin,
}

/// One source of settings, as a figment provider.
#[derive(Debug, Clone)]
pub struct Layer {
    name: String,
    settings: Vec<Setting>,
}

impl Layer {
    /// A layer named `name` (unique among the merged layers) holding `settings` in order.
    pub fn new(name: impl Into<String>, settings: Vec<Setting>) -> Self {
        Layer {
            name: name.into(),
            settings,
        }
    }

    /// The origin of the last setting of each key in this layer.
    fn origins(&self) -> HashMap<&str, &Origin> {
        self.settings
            .iter()
            .map(|s| (s.key.as_str(), &s.origin))
            .collect()
    }
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut root = Dict::new();
        for s in &self.settings {
            let mut node = &mut root;
            for seg in split_key(&s.key) {
                let entry = node
                    .entry(seg.to_string())
                    .or_insert_with(|| Value::from(Dict::new()));
                if !matches!(entry, Value::Dict(..)) {
                    *entry = Value::from(Dict::new());
                }
                node = match entry {
                    Value::Dict(_, d) => d,
                    _ => return Err(figment::Error::from("non-dict node after normalisation")),
                };
            }
            node.insert(VALUE_SEGMENT.to_string(), Value::from(s.value.clone()));
        }
        let mut map = Map::new();
        map.insert(Profile::Default, root);
        Ok(map)
    }
}

/// Merges `layers` (lowest precedence first) through figment and flattens the result.
pub fn merge(layers: &[Layer]) -> Result<BTreeMap<String, RawValue>, ConfigError> {
    let mut fig = Figment::new();
    for l in layers {
        fig = fig.merge(l.clone());
    }
    let by_name: HashMap<&str, HashMap<&str, &Origin>> = layers
        .iter()
        .map(|l| (l.name.as_str(), l.origins()))
        .collect();
    let data = fig
        .data()
        .map_err(|e| ConfigError::Internal(e.to_string()))?;
    let mut out = BTreeMap::new();
    if let Some(root) = data.get(&Profile::Default) {
        let mut path = Vec::new();
        flatten(&fig, &by_name, root, &mut path, &mut out)?;
    }
    Ok(out)
}

fn flatten(
    fig: &Figment,
    layers: &HashMap<&str, HashMap<&str, &Origin>>,
    dict: &Dict,
    path: &mut Vec<String>,
    out: &mut BTreeMap<String, RawValue>,
) -> Result<(), ConfigError> {
    for (seg, v) in dict {
        if seg == VALUE_SEGMENT {
            let key = path.join(".");
            let Value::String(tag, s) = v else {
                return Err(ConfigError::Internal(format!("non-text value at '{key}'")));
            };
            let origin = fig
                .get_metadata(*tag)
                .and_then(|m| layers.get(m.name.as_ref()))
                .and_then(|l| l.get(key.as_str()))
                .map(|o| (*o).clone())
                .ok_or_else(|| ConfigError::Internal(format!("no origin for '{key}'")))?;
            out.insert(
                key,
                RawValue {
                    value: s.clone(),
                    origin,
                },
            );
        } else if let Value::Dict(_, d) = v {
            path.push(seg.clone());
            flatten(fig, layers, d, path, out)?;
            path.pop();
        } else {
            return Err(ConfigError::Internal(format!("unexpected leaf at '{seg}'")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(key: &str, value: &str, line: usize) -> Setting {
        Setting {
            key: key.into(),
            value: value.into(),
            origin: Origin::File {
                file: "f".into(),
                line,
            },
        }
    }

    #[test]
    fn value_and_prefix_keys_coexist_and_later_layers_win() {
        let a = Layer::new(
            "file",
            vec![
                s("listener.tcp.default.mountpoint", "/m", 2),
                s("listener.tcp.default", "127.0.0.1:1883", 1),
                s("listener.tcp.default", "127.0.0.1:1884", 3),
            ],
        );
        let b = Layer::new(
            "env",
            vec![Setting {
                key: "listener.tcp.default.mountpoint".into(),
                value: "/e".into(),
                origin: Origin::Env {
                    var: "VMQ_X".into(),
                },
            }],
        );
        let m = merge(&[a, b]).expect("merge");
        assert_eq!(m["listener.tcp.default"].value, "127.0.0.1:1884");
        assert_eq!(m["listener.tcp.default"].origin.to_string(), "f:3");
        assert_eq!(m["listener.tcp.default.mountpoint"].value, "/e");
        assert_eq!(
            m["listener.tcp.default.mountpoint"].origin.to_string(),
            "env VMQ_X"
        );
    }
}
