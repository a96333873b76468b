//! Environment overrides in docker-vernemq's style: `DOCKER_VERNEMQ_<KEY>=value`, where the key
//! is lowercased and `__` becomes `.` (`DOCKER_VERNEMQ_LISTENER__TCP__DEFAULT` →
//! `listener.tcp.default`); the same with the `VMQ_` prefix, which wins over `DOCKER_VERNEMQ_`.
//! The environment is a map parameter, never read from the process here.

use std::collections::HashMap;

use crate::error::Origin;
use crate::parse::Setting;

/// The prefixes read, lowest precedence first.
pub const ENV_PREFIXES: [&str; 2] = ["DOCKER_VERNEMQ_", "VMQ_"];

/// `DOCKER_VERNEMQ_*` variables docker-vernemq's start script consumes itself (cluster
/// discovery, licence acceptance, `USER_<name>` password entries); they are not
/// configuration keys and are skipped.
const DOCKER_CONTROL: [&str; 6] = [
    "accept_eula",
    "discovery_",
    "kubernetes_",
    "swarm",
    "compose",
    "user_",
];

/// Turns an environment variable name without its prefix into a configuration key.
pub fn env_key(rest: &str) -> String {
    rest.to_ascii_lowercase().replace("__", ".")
}

/// The settings the environment overrides, sorted by precedence (later wins).
pub fn settings(env: &HashMap<String, String>) -> Vec<Setting> {
    let mut out = Vec::new();
    for prefix in ENV_PREFIXES {
        let mut vars: Vec<(&String, &String)> =
            env.iter().filter(|(k, _)| k.starts_with(prefix)).collect();
        vars.sort();
        for (var, value) in vars {
            let key = env_key(&var[prefix.len()..]);
            if key.is_empty() {
                continue;
            }
            if prefix == "DOCKER_VERNEMQ_" && DOCKER_CONTROL.iter().any(|c| key.starts_with(c)) {
                continue;
            }
            out.push(Setting {
                key,
                value: value.trim().to_string(),
                origin: Origin::Env { var: var.clone() },
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let env: HashMap<String, String> = [
            ("DOCKER_VERNEMQ_ALLOW_ANONYMOUS", "on"),
            ("DOCKER_VERNEMQ_LISTENER__TCP__DEFAULT", "127.0.0.1:1884"),
            ("DOCKER_VERNEMQ_ACCEPT_EULA", "yes"),
            ("VMQ_MAX_INFLIGHT_MESSAGES", "5"),
            ("PATH", "/bin"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let s = settings(&env);
        let keys: Vec<&str> = s.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "allow_anonymous",
                "listener.tcp.default",
                "max_inflight_messages"
            ]
        );
        assert_eq!(
            s[1].origin.to_string(),
            "env DOCKER_VERNEMQ_LISTENER__TCP__DEFAULT"
        );
    }
}
