//! Instruction-count benchmark: the packets of `codec.rs`, decoded and encoded by vmq-codec and
//! by mqttbytes 0.6, counted with valgrind's callgrind instead of timed, so a regression shows
//! on a noisy shared machine.
//!
//! `cargo bench -p vmq-codec --bench icount` (or `cargo xtask icount`) re-runs this binary under
//! `valgrind --tool=callgrind --toggle-collect=<measured function>` once per case, operation and
//! codec, and prints instructions per packet. Only the measured call is counted: preparing the
//! input (cloning the frame, copying it into a `BytesMut` for mqttbytes) and dropping the
//! decoded packet happen outside it, as they do in the criterion benchmark.
//!
//! Run without `--bench` (as `cargo test --all-targets` does) it only checks that every case
//! decodes and encodes, without valgrind.

use std::hint::black_box;
use std::process::ExitCode;

use bytes::{Bytes, BytesMut};
use vmq_codec::{DecodeError, Packet, ProtocolVersion};

#[path = "support/callgrind.rs"]
mod callgrind;
mod common;

use common::{cases, frame, mqttbytes_read, mqttbytes_write, Theirs};

/// Packets per measured run.
const N: usize = 2000;

#[inline(never)]
fn icount_decode_ours(f: Bytes, v: ProtocolVersion) -> Result<Packet, DecodeError> {
    Packet::decode(f, v)
}

#[inline(never)]
fn icount_decode_theirs(f: &mut BytesMut, v: ProtocolVersion) -> Result<Theirs, mqttbytes::Error> {
    match v {
        ProtocolVersion::V5 => mqttbytes::v5::read(f, 1 << 28).map(Theirs::V5),
        _ => mqttbytes::v4::read(f, 1 << 28).map(Theirs::V4),
    }
}

#[inline(never)]
fn icount_encode_ours(p: &Packet, v: ProtocolVersion, buf: &mut BytesMut) -> bool {
    p.encode(v, buf).is_ok()
}

#[inline(never)]
fn icount_encode_theirs(p: &Theirs, buf: &mut BytesMut) -> usize {
    mqttbytes_write(p, buf)
}

/// Runs `n` measured calls of `op` (`decode`/`encode`) by `codec` (`ours`/`theirs`) on case
/// `case`; returns false when a call fails.
fn child(case: &str, op: &str, codec: &str, n: usize) -> bool {
    let Some((_, packet, v)) = cases().into_iter().find(|(name, _, _)| name == case) else {
        return false;
    };
    let f = frame(&packet, v);
    let theirs = mqttbytes_read(&f, v);
    let mut ok = true;
    match (op, codec) {
        ("decode", "ours") => {
            let inputs: Vec<Bytes> = (0..n).map(|_| f.clone()).collect();
            let mut out = Vec::with_capacity(n);
            for i in inputs {
                let p = icount_decode_ours(i, v);
                ok &= p.is_ok();
                out.push(p);
            }
            black_box(out);
        }
        ("decode", "theirs") => {
            let mut inputs: Vec<BytesMut> = (0..n).map(|_| BytesMut::from(&f[..])).collect();
            let mut out = Vec::with_capacity(n);
            for i in &mut inputs {
                let p = icount_decode_theirs(i, v);
                ok &= p.is_ok();
                out.push(p);
            }
            black_box(out);
        }
        ("encode", "ours") => {
            let mut buf = BytesMut::with_capacity(4096);
            for _ in 0..n {
                buf.clear();
                ok &= icount_encode_ours(black_box(&packet), v, &mut buf);
            }
            ok &= buf[..] == f[..];
        }
        ("encode", "theirs") => {
            let mut buf = BytesMut::with_capacity(4096);
            for _ in 0..n {
                buf.clear();
                ok &= icount_encode_theirs(black_box(&theirs), &mut buf) > 0;
            }
        }
        _ => ok = false,
    }
    ok
}

/// Instructions per call of `op` by `codec` on `case`, measured under callgrind.
fn measure(exe: &str, case: &str, op: &str, codec: &str) -> Result<f64, String> {
    let n = N.to_string();
    let collected = callgrind::collected_instructions(
        exe,
        &format!("*icount_{op}_{codec}*"),
        &["--child", case, op, codec, &n],
        &format!("{case} {op} {codec}"),
    )?;
    Ok(collected as f64 / N as f64)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, case, op, codec, n] = &args[..] {
        if flag == "--child" {
            let n = n.parse().unwrap_or(N);
            return if child(case, op, codec, n) {
                ExitCode::SUCCESS
            } else {
                eprintln!("icount: {case} {op} {codec} failed");
                ExitCode::FAILURE
            };
        }
    }
    let cases = cases();
    if !args.iter().any(|a| a == "--bench") {
        // Test mode: a smoke run of every measured call, natively.
        for (name, _, _) in &cases {
            for op in ["decode", "encode"] {
                for codec in ["ours", "theirs"] {
                    if !child(name, op, codec, 3) {
                        eprintln!("icount: {name} {op} {codec} failed");
                        return ExitCode::FAILURE;
                    }
                }
            }
        }
        return ExitCode::SUCCESS;
    }
    let exe = match std::env::current_exe() {
        Ok(p) => p.to_string_lossy().into_owned(),
        Err(e) => {
            eprintln!("icount: cannot find this executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    let filter = args.iter().skip(1).find(|a| !a.starts_with("--"));
    println!("instructions per packet (callgrind), vmq-codec vs mqttbytes 0.6; ratio = mqttbytes / vmq-codec");
    println!(
        "{:<22} {:>10} {:>10} {:>6}   {:>10} {:>10} {:>6}",
        "case", "dec ours", "dec mqttb", "ratio", "enc ours", "enc mqttb", "ratio"
    );
    for (name, _, _) in &cases {
        if filter.is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        let mut row = Vec::new();
        for op in ["decode", "encode"] {
            for codec in ["ours", "theirs"] {
                match measure(&exe, name, op, codec) {
                    Ok(n) => row.push(n),
                    Err(e) => {
                        eprintln!("icount: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            }
        }
        println!(
            "{:<22} {:>10.0} {:>10.0} {:>5.2}x   {:>10.0} {:>10.0} {:>5.2}x",
            name,
            row[0],
            row[1],
            row[1] / row[0],
            row[2],
            row[3],
            row[3] / row[2]
        );
    }
    ExitCode::SUCCESS
}
