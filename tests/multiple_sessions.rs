//! `allow_multiple_sessions` (VerneMQ's non-standard option, balancing.md): several connections
//! share one client id and its queue, which delivers every message to each of them (`fanout`)
//! or each message to one of them (`balance`). Without the option, the second connection takes
//! the session over.

use vernemq_rs::{within, Client, ProtocolVersion, QoS, TestBroker, QUIET};

const V: ProtocolVersion = ProtocolVersion::V3_1_1;

async fn two_sessions(mode: &str) -> (TestBroker, Client, Client, Client) {
    let broker = TestBroker::start(&format!(
        "allow_multiple_sessions = on\nqueue_deliver_mode = {mode}\n"
    ))
    .await;
    let mut a = Client::connect(broker.addr(), V, "shared-id").await;
    let mut b = Client::connect(broker.addr(), V, "shared-id").await;
    a.subscribe("ms/#", QoS::AtLeastOnce).await;
    b.subscribe("ms/#", QoS::AtLeastOnce).await;
    let publisher = Client::connect(broker.addr(), V, "ms-publisher").await;
    (broker, a, b, publisher)
}

async fn count(c: &mut Client) -> usize {
    let mut n = 0;
    while let Ok(packet) = c.try_recv(QUIET).await {
        if let vernemq_rs::Packet::Publish(p) = packet {
            c.ack(&p).await;
            n += 1;
        }
    }
    n
}

#[tokio::test]
async fn fanout_delivers_every_message_to_every_session() {
    within(async {
        let (_broker, mut a, mut b, mut publisher) = two_sessions("fanout").await;
        for i in 0..10 {
            publisher
                .publish("ms/t", format!("{i}").as_bytes(), QoS::AtLeastOnce, false)
                .await;
        }
        assert_eq!(count(&mut a).await, 10);
        assert_eq!(count(&mut b).await, 10);
    })
    .await;
}

#[tokio::test]
async fn balance_delivers_each_message_to_one_session() {
    within(async {
        let (_broker, mut a, mut b, mut publisher) = two_sessions("balance").await;
        for i in 0..10 {
            publisher
                .publish("ms/t", format!("{i}").as_bytes(), QoS::AtLeastOnce, false)
                .await;
        }
        let (na, nb) = (count(&mut a).await, count(&mut b).await);
        assert_eq!(na + nb, 10, "a got {na}, b got {nb}");
        assert!(
            na > 0 && nb > 0,
            "both sessions get a share: a {na}, b {nb}"
        );
    })
    .await;
}

#[tokio::test]
async fn without_the_option_the_second_connection_takes_over() {
    within(async {
        let broker = TestBroker::start("").await;
        let mut a = Client::connect(broker.addr(), V, "same-id").await;
        let _b = Client::connect(broker.addr(), V, "same-id").await;
        a.expect_closed().await;
    })
    .await;
}
