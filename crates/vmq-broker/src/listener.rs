//! MQTT listeners: binds the sockets of `listener.tcp.<name>` entries, accepts connections up to
//! the listener's `max_connections`, and hands each to the connection driver.

use std::{net::SocketAddr, sync::Arc};

use tokio::{net::TcpListener, sync::Semaphore};
use tracing::{info, warn};

use crate::{
    broker::BrokerCore,
    connection::{run_connection, ListenerContext},
    metrics::Counter,
};

/// A bound MQTT listener, ready to accept.
#[derive(Debug)]
pub struct MqttListener {
    /// The listener's context (name, mountpoint, session settings).
    pub context: Arc<ListenerContext>,
    /// The bound socket.
    pub socket: TcpListener,
    /// `None`: no limit.
    pub max_connections: Option<u32>,
}

impl MqttListener {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Accepts connections until the task is dropped.
    pub async fn run(self, core: Arc<BrokerCore>) {
        let limit = self
            .max_connections
            .map(|n| Arc::new(Semaphore::new(n as usize)));
        info!(listener = %self.context.name, addr = ?self.socket.local_addr().ok(), "listening");
        loop {
            let (stream, peer) = match self.socket.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    warn!(listener = %self.context.name, error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let permit = match &limit {
                Some(sem) => match sem.clone().try_acquire_owned() {
                    Ok(permit) => Some(permit),
                    Err(_) => {
                        core.metrics.incr(Counter::ListenerMaxConnectionsRefused);
                        warn!(listener = %self.context.name, %peer, "max_connections reached, connection refused");
                        drop(stream);
                        continue;
                    }
                },
                None => None,
            };
            let _ = stream.set_nodelay(true);
            let core = core.clone();
            let context = self.context.clone();
            tokio::spawn(async move {
                run_connection(core, context, stream, peer).await;
                drop(permit);
            });
        }
    }
}
