//! The Prometheus text exposition format (version 0.0.4) of [`MetricFamily`]s: `# HELP`,
//! `# TYPE`, then one line per sample, each labelled with `node` first, as VerneMQ does.

use std::fmt::Write;

use crate::{MetricFamily, MetricKind};

/// The content type of the rendered text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn labels(node: &str, pairs: &[(&'static str, String)], extra: Option<(&str, String)>) -> String {
    let mut out = format!("{{node=\"{}\"", escape(node));
    for (k, v) in pairs {
        let _ = write!(out, ",{k}=\"{}\"", escape(v));
    }
    if let Some((k, v)) = extra {
        let _ = write!(out, ",{k}=\"{}\"", escape(&v));
    }
    out.push('}');
    out
}

/// Renders `families` with every name prefixed by `namespace` (`prometheus_namespace`,
/// VerneMQ's default `vernemq_`).
pub fn render(namespace: &str, node: &str, families: &[MetricFamily]) -> String {
    let mut out = String::with_capacity(families.len() * 160);
    for family in families {
        let name = format!("{namespace}{}", family.name);
        let _ = writeln!(out, "# HELP {name} {}", family.help);
        let _ = writeln!(out, "# TYPE {name} {}", family.kind.as_str());
        for sample in &family.samples {
            match (&family.kind, &sample.histogram) {
                (MetricKind::Histogram, Some((sum, buckets))) => {
                    for (le, count) in buckets {
                        let _ = writeln!(
                            out,
                            "{name}_bucket{} {count}",
                            labels(node, &sample.labels, Some(("le", number(*le))))
                        );
                    }
                    let l = labels(node, &sample.labels, None);
                    let _ = writeln!(out, "{name}_sum{l} {}", number(*sum));
                    let _ = writeln!(out, "{name}_count{l} {}", number(sample.value));
                }
                _ => {
                    let _ = writeln!(
                        out,
                        "{name}{} {}",
                        labels(node, &sample.labels, None),
                        number(sample.value)
                    );
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sample;

    #[test]
    fn renders_labels_and_histograms() {
        let families = vec![
            MetricFamily {
                name: "mqtt_publish_received",
                kind: MetricKind::Counter,
                help: "The number of PUBLISH packets received.",
                samples: vec![Sample {
                    labels: vec![("mqtt_version", "4".into())],
                    value: 3.0,
                    histogram: None,
                }],
            },
            MetricFamily {
                name: "storage_read_microseconds",
                kind: MetricKind::Histogram,
                help: "h",
                samples: vec![Sample {
                    labels: vec![],
                    value: 1.0,
                    histogram: Some((7.0, vec![(10.0, 1), (f64::INFINITY, 1)])),
                }],
            },
        ];
        let text = render("vernemq_", "n@h", &families);
        assert!(text.contains("# TYPE vernemq_mqtt_publish_received counter\n"));
        assert!(text.contains("vernemq_mqtt_publish_received{node=\"n@h\",mqtt_version=\"4\"} 3\n"));
        assert!(
            text.contains("vernemq_storage_read_microseconds_bucket{node=\"n@h\",le=\"+Inf\"} 1\n")
        );
        assert!(text.contains("vernemq_storage_read_microseconds_sum{node=\"n@h\"} 7\n"));
    }
}
