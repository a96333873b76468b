//! Property tests: no input makes the reader panic, and well-formed settings round-trip.

use std::collections::HashMap;

use proptest::prelude::*;
use vmq_conf::Config;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC*") {
        let _ = Config::from_str(&text, "fuzz.conf", &HashMap::new());
    }

    #[test]
    fn conf_like_text_never_panics(
        lines in proptest::collection::vec(
            "(#.*|include [a-z]{0,8}\\.conf|[a-z_.\\\\]{0,30} ?= ?[a-z0-9:.,'#$ ]{0,20}|listener\\.(tcp|ssl|ws)\\.[a-z]{1,5}(\\.[a-z_]{1,12})? = [0-9.:a-z]{0,16})",
            0..20,
        )
    ) {
        let text = lines.join("\n");
        let _ = Config::from_str(&text, "fuzz.conf", &HashMap::new());
    }

    #[test]
    fn arbitrary_env_never_panics(key in "(DOCKER_VERNEMQ_|VMQ_)[A-Z_]{0,30}", value in "\\PC{0,20}") {
        let env = HashMap::from([(key, value)]);
        let _ = Config::from_str("", "fuzz.conf", &env);
    }

    #[test]
    fn valid_inflight_values_round_trip(n in 0u16..=u16::MAX) {
        let cfg = Config::from_str(&format!("max_inflight_messages = {n}\n"), "p.conf", &HashMap::new());
        prop_assert_eq!(cfg.map(|c| c.max_inflight_messages).ok(), Some(n));
    }
}
