//! Fuzz target for `vmq-conf`: arbitrary bytes as a `vernemq.conf` text must never panic the
//! line parser nor the whole pipeline (schema checks, merge, typed config, listeners).
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut errors = vmq_conf::ConfigErrors::default();
    let _ = vmq_conf::parse::parse_text(&text, "fuzz.conf", &mut errors);
    // `include` lines would read the file system; keep the full pipeline pure.
    if !text.contains("include") {
        let _ = vmq_conf::Config::from_str(&text, "fuzz.conf", &HashMap::new());
    }
});
