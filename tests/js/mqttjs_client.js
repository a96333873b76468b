/**
 * MQTT.js (npm `mqtt`) against the broker, for MQTT 3.1.1 and 5.0.
 *
 * Usage: node mqttjs_client.js <port> <4|5> <scenario>
 *
 * Scenarios: roundtrip (QoS 0, 1, 2), retained (set, receive on subscribe, clear), will (sent on
 * an abrupt close, not after DISCONNECT), persistent (offline messages delivered to a persistent
 * session, with the session present flag).
 *
 * Prints one `PASS <what>` line per check and `ALL OK` at the end; a failure prints `FAIL ...`
 * and exits with 1. Every wait is bounded so the script never hangs.
 */
'use strict';

const mqtt = require('mqtt');

const TIMEOUT_MS = 10000;
const [port, versionArg, scenario] = process.argv.slice(2);
const protocolVersion = Number(versionArg);

function check(cond, what) {
  if (!cond) throw new Error(what);
  console.log(`PASS ${what}`);
}

function withTimeout(promise, what, ms = TIMEOUT_MS) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function uid(name) {
  return `${name}-${Math.random().toString(16).slice(2, 10)}`;
}

/** Connects; resolves with { client, connack, inbox } once the CONNACK is in. */
function connect(clientId, extra = {}) {
  const client = mqtt.connect({
    host: '127.0.0.1',
    port: Number(port),
    protocolVersion,
    clientId,
    reconnectPeriod: 0,
    connectTimeout: TIMEOUT_MS,
    keepalive: 60,
    ...extra,
  });
  const inbox = [];
  const waiters = [];
  client.on('message', (topic, payload, packet) => {
    const m = { topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain };
    const w = waiters.shift();
    if (w) w(m);
    else inbox.push(m);
  });
  const next = (ms = TIMEOUT_MS) =>
    new Promise((resolve) => {
      if (inbox.length) return resolve(inbox.shift());
      const timer = setTimeout(() => {
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        resolve(null);
      }, ms);
      const done = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
      waiters.push(done);
    });
  return withTimeout(
    new Promise((resolve, reject) => {
      client.once('connect', (connack) => resolve({ client, connack, next }));
      client.once('error', reject);
    }),
    `connect ${clientId}`,
  );
}

function subscribe(client, topic, qos) {
  return withTimeout(
    new Promise((resolve, reject) => {
      client.subscribe(topic, { qos }, (err, granted) => {
        if (err) return reject(err);
        if (granted.some((g) => g.qos >= 128)) return reject(new Error(`refused ${topic}`));
        resolve(granted);
      });
    }),
    `subscribe ${topic}`,
  );
}

function publish(client, topic, payload, opts) {
  return withTimeout(
    new Promise((resolve, reject) => {
      client.publish(topic, payload, opts, (err) => (err ? reject(err) : resolve()));
    }),
    `publish ${topic}`,
  );
}

function end(client, force = false) {
  return withTimeout(new Promise((resolve) => client.end(force, {}, resolve)), 'end');
}

async function roundtrip() {
  const sub = await connect(uid('sub'));
  const pub = await connect(uid('pub'));
  for (const qos of [0, 1, 2]) {
    const topic = `js/rt/${qos}`;
    await subscribe(sub.client, topic, qos);
    await publish(pub.client, topic, `js qos ${qos}`, { qos });
    const m = await sub.next();
    check(m && m.payload === `js qos ${qos}` && m.qos === qos, `roundtrip qos=${qos}`);
  }
  await end(sub.client);
  await end(pub.client);
}

async function retained() {
  const pub = await connect(uid('pub'));
  await publish(pub.client, 'js/ret', 'kept', { qos: 1, retain: true });
  const sub = await connect(uid('sub'));
  await subscribe(sub.client, 'js/ret', 1);
  let m = await sub.next();
  check(m && m.payload === 'kept' && m.retain, 'retained delivered on subscribe');
  await publish(pub.client, 'js/ret', '', { qos: 1, retain: true });
  m = await sub.next();
  check(m && m.payload === '', 'retained clear forwarded');
  const late = await connect(uid('late'));
  await subscribe(late.client, 'js/ret', 1);
  check((await late.next(1000)) === null, 'retained cleared');
  for (const c of [pub, sub, late]) await end(c.client);
}

async function will() {
  const watch = await connect(uid('watch'));
  await subscribe(watch.client, 'js/will/#', 1);
  const dying = await connect(uid('dying'), {
    will: { topic: 'js/will/dying', payload: 'gone', qos: 1, retain: false },
  });
  // Destroy the socket without DISCONNECT.
  dying.client.stream.destroy();
  dying.client.end(true);
  let m = await watch.next();
  check(m && m.topic === 'js/will/dying' && m.payload === 'gone', 'will sent on abrupt close');
  const polite = await connect(uid('polite'), {
    will: { topic: 'js/will/polite', payload: 'never', qos: 1, retain: false },
  });
  await end(polite.client);
  check((await watch.next(1000)) === null, 'no will after DISCONNECT');
  await end(watch.client);
}

async function persistent() {
  const clientId = uid('keep');
  const opts = { clean: false };
  if (protocolVersion === 5) opts.properties = { sessionExpiryInterval: 600 };
  let s = await connect(clientId, opts);
  await subscribe(s.client, 'js/off', 1);
  await end(s.client);
  const pub = await connect(uid('pub'));
  await publish(pub.client, 'js/off', 'while offline', { qos: 1 });
  await end(pub.client);
  s = await connect(clientId, opts);
  check(s.connack.sessionPresent === true, 'session present');
  const m = await s.next();
  check(m && m.payload === 'while offline', 'offline message delivered');
  await end(s.client);
}

const scenarios = { roundtrip, retained, will, persistent };

async function main() {
  const run = scenarios[scenario];
  if (!run) throw new Error(`unknown scenario ${scenario}`);
  await withTimeout(run(), scenario, 45000);
  console.log('ALL OK');
}

main().then(
  () => process.exit(0),
  (e) => {
    console.log(`FAIL ${e.message}`);
    process.exit(1);
  },
);
