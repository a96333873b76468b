"""paho-mqtt (>= 2) against the broker, for MQTT 3.1.1 and 5.0.

Usage: python3 paho_client.py <port> <311|5> <scenario>

Scenarios: roundtrip (QoS 0, 1, 2), retained (set, receive on subscribe, clear), will (sent on
an abrupt close, not after DISCONNECT), persistent (a persistent session receives the messages
published while it was offline, with the session present flag).

Prints one `PASS <what>` line per check and `ALL OK` at the end; any failure prints `FAIL ...`
and exits with 1. Every wait is bounded (TIMEOUT seconds) so the script never hangs.
"""

import queue
import socket
import sys
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

TIMEOUT = 10
HOST = "127.0.0.1"


class Failure(Exception):
    """A check failed."""


def check(cond, what):
    if not cond:
        raise Failure(what)
    print("PASS", what, flush=True)


class Peer:
    """One paho client with its callbacks turned into queues."""

    def __init__(self, port, proto, client_id, clean=True, will=None, expiry=None):
        self.proto = proto
        self.port = port
        self.clean = clean
        self.expiry = expiry
        kwargs = {
            "callback_api_version": mqtt.CallbackAPIVersion.VERSION2,
            "client_id": client_id,
            "protocol": proto,
        }
        if proto != mqtt.MQTTv5:
            kwargs["clean_session"] = clean
        self.c = mqtt.Client(**kwargs)
        self.messages = queue.Queue()
        self.connacks = queue.Queue()
        self.subacks = queue.Queue()
        self.c.on_message = lambda _c, _u, m: self.messages.put(m)
        self.c.on_connect = lambda _c, _u, flags, rc, _p: self.connacks.put((flags, rc))
        self.c.on_subscribe = lambda _c, _u, mid, codes, _p: self.subacks.put((mid, codes))
        if will is not None:
            topic, payload, qos, retain = will
            self.c.will_set(topic, payload, qos, retain)

    def connect(self):
        if self.proto == mqtt.MQTTv5:
            props = None
            if self.expiry is not None:
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = self.expiry
            self.c.connect(HOST, self.port, keepalive=60, clean_start=self.clean, properties=props)
        else:
            self.c.connect(HOST, self.port, keepalive=60)
        self.c.loop_start()
        try:
            flags, rc = self.connacks.get(timeout=TIMEOUT)
        except queue.Empty:
            raise Failure("no CONNACK")
        if rc.is_failure:
            raise Failure("CONNACK refused: %s" % rc)
        return flags

    def subscribe(self, topic, qos):
        _, mid = self.c.subscribe(topic, qos)
        try:
            got_mid, codes = self.subacks.get(timeout=TIMEOUT)
        except queue.Empty:
            raise Failure("no SUBACK for " + topic)
        if got_mid != mid or any(c.is_failure for c in codes):
            raise Failure("SUBACK for %s: %s" % (topic, codes))

    def publish(self, topic, payload, qos, retain=False):
        info = self.c.publish(topic, payload, qos, retain)
        info.wait_for_publish(TIMEOUT)
        if not info.is_published():
            raise Failure("publish to %s not completed" % topic)

    def receive(self, timeout=TIMEOUT):
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def disconnect(self):
        self.c.disconnect()
        self.c.loop_stop()

    def drop(self):
        """Closes the socket without DISCONNECT (an abrupt close for the broker)."""
        sock = self.c.socket()
        self.c.loop_stop()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def uid(name):
    return "%s-%s" % (name, uuid.uuid4().hex[:8])


def roundtrip(port, proto):
    sub = Peer(port, proto, uid("sub"))
    sub.connect()
    pub = Peer(port, proto, uid("pub"))
    pub.connect()
    for qos in (0, 1, 2):
        topic = "paho/rt/%d" % qos
        sub.subscribe(topic, qos)
        payload = ("paho qos %d" % qos).encode()
        pub.publish(topic, payload, qos)
        m = sub.receive()
        check(m is not None and m.payload == payload and m.qos == qos, "roundtrip qos=%d" % qos)
    sub.disconnect()
    pub.disconnect()


def retained(port, proto):
    pub = Peer(port, proto, uid("pub"))
    pub.connect()
    pub.publish("paho/ret", b"kept", 1, retain=True)
    sub = Peer(port, proto, uid("sub"))
    sub.connect()
    sub.subscribe("paho/ret", 1)
    m = sub.receive()
    check(m is not None and m.payload == b"kept" and m.retain, "retained delivered on subscribe")
    pub.publish("paho/ret", b"", 1, retain=True)
    m = sub.receive()
    check(m is not None and m.payload == b"", "retained clear forwarded")
    late = Peer(port, proto, uid("late"))
    late.connect()
    late.subscribe("paho/ret", 1)
    check(late.receive(timeout=1) is None, "retained cleared")
    for p in (pub, sub, late):
        p.disconnect()


def will(port, proto):
    watch = Peer(port, proto, uid("watch"))
    watch.connect()
    watch.subscribe("paho/will/#", 1)
    dying = Peer(port, proto, uid("dying"), will=("paho/will/dying", b"gone", 1, False))
    dying.connect()
    dying.drop()
    m = watch.receive()
    check(m is not None and m.topic == "paho/will/dying" and m.payload == b"gone",
          "will sent on abrupt close")
    polite = Peer(port, proto, uid("polite"), will=("paho/will/polite", b"never", 1, False))
    polite.connect()
    polite.disconnect()
    check(watch.receive(timeout=1) is None, "no will after DISCONNECT")
    watch.disconnect()


def persistent(port, proto):
    cid = uid("keep")
    expiry = 600 if proto == mqtt.MQTTv5 else None
    s = Peer(port, proto, cid, clean=False, expiry=expiry)
    s.connect()
    s.subscribe("paho/off", 1)
    s.disconnect()
    pub = Peer(port, proto, uid("pub"))
    pub.connect()
    pub.publish("paho/off", b"while offline", 1)
    pub.disconnect()
    s = Peer(port, proto, cid, clean=False, expiry=expiry)
    flags = s.connect()
    check(flags.session_present, "session present")
    m = s.receive()
    check(m is not None and m.payload == b"while offline", "offline message delivered")
    s.disconnect()


SCENARIOS = {
    "roundtrip": roundtrip,
    "retained": retained,
    "will": will,
    "persistent": persistent,
}


def main():
    port = int(sys.argv[1])
    proto = {"311": mqtt.MQTTv311, "5": mqtt.MQTTv5}[sys.argv[2]]
    scenario = SCENARIOS[sys.argv[3]]
    try:
        scenario(port, proto)
    except Failure as e:
        print("FAIL", e, flush=True)
        sys.exit(1)
    print("ALL OK", flush=True)


if __name__ == "__main__":
    main()
