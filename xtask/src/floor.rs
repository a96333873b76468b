//! The machine's own latency floor, measured beside the brokers by `cargo xtask bench`: a
//! relay with no broker logic at all. One thread writes a timestamped 64-byte message every
//! 200 µs (5,000/s, the latency scenario's rate) on a loopback TCP connection, a relay thread
//! copies each one to a second connection, and a third thread reads it and records how long it
//! took. That is the path of a broker's delivery (two loopback hops, two threads woken from a
//! blocking read) without the broker. Its p50 is the least a broker's delivery costs on the
//! machine; its tail is not a bound (on a 2-core VM whose idle vCPUs wake late, it showed p99.9
//! of 2-3.5 ms where a broker with a single worker thread, woken less often, stayed under
//! 0.6 ms).

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Floor {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

const MESSAGE: usize = 64;
const INTERVAL: Duration = Duration::from_micros(200);

/// A connected loopback pair (client side, accepted side), both without Nagle's delay.
fn pair() -> Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    Ok((client, server))
}

impl std::fmt::Display for Floor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:.0} us, p99 {:.0} us, p99.9 {:.0} us, max {:.0} us",
            self.p50, self.p99, self.p999, self.max
        )
    }
}

/// The per-field medians of several measurements.
pub fn medians(floors: &[Floor]) -> Floor {
    let m =
        |f: fn(&Floor) -> f64| crate::bench::median(floors.iter().map(f).collect()).unwrap_or(0.0);
    Floor {
        p50: m(|f| f.p50),
        p99: m(|f| f.p99),
        p999: m(|f| f.p999),
        max: m(|f| f.max),
    }
}

/// A `--duration` value in seconds, or an error that names it.
pub fn parse_secs(value: &str) -> Result<f64> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .with_context(|| format!("--duration takes seconds, not {value:?}"))
}

/// Runs the relay for `secs` seconds, at least 2 (the first second is warm-up, as in
/// yardstick's latency scenario).
pub fn measure(secs: f64) -> Result<Floor> {
    let duration = Duration::from_secs_f64(secs.max(2.0));
    let (mut to_relay, mut relay_in) = pair()?;
    let (mut relay_out, mut from_relay) = pair()?;
    let origin = Instant::now();
    let count = (duration.as_micros() / INTERVAL.as_micros()) as u64;
    let writer = thread::spawn(move || -> std::io::Result<()> {
        let mut message = [0u8; MESSAGE];
        for i in 0..count {
            let due = origin + INTERVAL * (i as u32);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                thread::sleep(wait);
            }
            let sent = origin.elapsed().as_nanos() as u64;
            message[..8].copy_from_slice(&sent.to_le_bytes());
            to_relay.write_all(&message)?;
        }
        Ok(())
    });
    let relay = thread::spawn(move || -> std::io::Result<()> {
        let mut buf = [0u8; 16 * MESSAGE];
        loop {
            let n = relay_in.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            relay_out.write_all(&buf[..n])?;
        }
    });
    let warmup = Duration::from_secs(1).as_nanos() as u64;
    let mut samples = Vec::with_capacity(count as usize);
    let mut message = [0u8; MESSAGE];
    for _ in 0..count {
        from_relay
            .read_exact(&mut message)
            .context("reading from the relay")?;
        let received = origin.elapsed().as_nanos() as u64;
        let mut sent = [0u8; 8];
        sent.copy_from_slice(&message[..8]);
        let sent = u64::from_le_bytes(sent);
        if sent >= warmup {
            samples.push(received.saturating_sub(sent) as f64 / 1000.0);
        }
    }
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the writer thread panicked"))??;
    relay
        .join()
        .map_err(|_| anyhow::anyhow!("the relay thread panicked"))??;
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let i = ((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1));
        samples.get(i).copied().unwrap_or(0.0)
    };
    Ok(Floor {
        p50: at(0.50),
        p99: at(0.99),
        p999: at(0.999),
        max: samples.last().copied().unwrap_or(0.0),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_relay_delivers_every_message_in_order_of_percentiles() {
        let floor = measure(2.0).unwrap();
        assert!(floor.p50 > 0.0, "{floor:?}");
        assert!(floor.p50 <= floor.p99 && floor.p99 <= floor.p999 && floor.p999 <= floor.max);
    }
}
