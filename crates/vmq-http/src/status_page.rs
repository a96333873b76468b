//! The `/status` page: static HTML whose script fetches `/status.json` every ten seconds (or
//! every `?refresh=<ms>`), computes rates from two successive snapshots, and fills the Issues,
//! Cluster Overview and Node Status tables.

/// The page.
pub const STATUS_HTML: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>VerneMQ Status</title>
<style>
  body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 0 8px; color: #222; }
  header { display: flex; justify-content: space-between; align-items: center; padding: 12px 14px; }
  .logo { display: flex; align-items: center; gap: 12px; font-size: 34px; color: #555; letter-spacing: 1px; }
  .logo .mark { width: 56px; height: 56px; border-radius: 8px; background: #e8e8e8; display: flex;
    align-items: center; justify-content: center; font-weight: bold; color: #1d8bb0; font-size: 38px; }
  .logo sup { font-size: 12px; }
  nav a { margin-left: 14px; color: #2a4a6b; text-decoration: none; }
  h2 { font-size: 18px; margin: 22px 0 8px; }
  table { width: 100%; border-collapse: collapse; border: 1px solid #ddd; }
  th { background: #f7f7f7; font-weight: bold; text-align: center; padding: 10px 8px; border: 1px solid #ddd; }
  td { background: #efefef; text-align: center; padding: 10px 8px; border: 1px solid #ddd; }
  td.left, th.left { text-align: left; }
  .unit { color: #888; font-size: 12px; }
  .badge { display: inline-block; border-radius: 3px; padding: 1px 5px; font-size: 11px; color: #fff; }
  .version { background: #666; } .proto { background: #1d7ee0; } .peers { background: #2aa14a; }
  .warning { background: #f6c342; color: #222; }
  .small { color: #888; font-size: 12px; }
</style>
</head>
<body>
<header>
  <div class="logo"><div class="mark">V</div><span>verne<sup>MQ</sup></span></div>
  <nav><a href="https://docs.vernemq.com">Docs</a><a href="https://github.com/vernemq/vernemq">Github</a></nav>
</header>
<h2>Issues</h2>
<table id="issues"><thead><tr><th class="left">Node</th><th class="left">Message</th></tr></thead>
<tbody id="issues-body"><tr><td class="left" colspan="2">No issues</td></tr></tbody></table>
<h2>Cluster Overview</h2>
<table id="cluster"><thead><tr><th>Cluster Size</th><th>Clients online</th><th>Clients offline</th>
<th>Connect Rate</th><th>Publish In Rate</th><th>Publish Out Rate</th><th>Msg Drop Rate</th><th>Msg Queued</th></tr></thead>
<tbody><tr>
<td id="cluster-size">-</td><td id="clients-online">-</td><td id="clients-offline">-</td>
<td><span id="connect-rate">0</span> <span class="unit">sec</span></td>
<td><span id="publish-in-rate">0</span> <span class="unit">sec</span></td>
<td><span id="publish-out-rate">0</span> <span class="unit">sec</span></td>
<td><span id="drop-rate">0</span> <span class="unit">sec</span></td>
<td id="msg-queued">-</td></tr></tbody></table>
<h2>Node Status</h2>
<table id="nodes"><thead><tr><th class="left">Node</th><th>Clients</th><th>Connect Rate</th><th>Publish In</th>
<th>Publish Out</th><th>Msg Drop Rate</th><th>Msg Queued</th><th>Subscriptions</th><th>Retained</th></tr></thead>
<tbody><tr>
<td class="left"><b id="node-name">-</b> <span class="badge version" id="node-version"></span><br>
<span class="small">Protocols:</span> <span id="node-protocols"></span><br>
<span class="small">Reachable peers:</span> <span class="badge peers" id="node-peers"></span></td>
<td><span id="node-online">-</span> <span class="unit">online</span><br><span id="node-offline">-</span> <span class="unit">offline</span></td>
<td><span id="node-connect-rate">0</span> <span class="unit">sec</span></td>
<td><span id="node-publish-in-rate">0</span> <span class="unit">sec</span><br><span id="node-publish-in">-</span> <span class="unit">total</span></td>
<td><span id="node-publish-out-rate">0</span> <span class="unit">sec</span><br><span id="node-publish-out">-</span> <span class="unit">total</span></td>
<td><span id="node-drop-rate">0</span> <span class="unit">sec</span></td>
<td id="node-queued">-</td><td id="node-subscriptions">-</td><td id="node-retained">-</td></tr></tbody></table>
<p class="small">Refreshed <span id="refreshed">never</span>. Rates are computed in the browser between two refreshes.</p>
<script>
(function () {
  var params = new URLSearchParams(window.location.search);
  var every = parseInt(params.get("refresh") || "10000", 10);
  if (!(every >= 200)) { every = 10000; }
  var previous = null;
  function set(id, value) { var e = document.getElementById(id); if (e) { e.textContent = String(value); } }
  function rate(now, before, key, seconds) {
    if (!before || seconds <= 0) { return 0; }
    return Math.max(0, Math.round((now[key] - before[key]) / seconds));
  }
  function show(s) {
    var seconds = previous ? (s.uptime_ms - previous.uptime_ms) / 1000 : 0;
    var connect = rate(s, previous, "connect_received", seconds);
    var pin = rate(s, previous, "publish_received", seconds);
    var pout = rate(s, previous, "publish_sent", seconds);
    var drop = rate(s, previous, "queue_message_drop", seconds);
    set("cluster-size", s.cluster_size);
    set("clients-online", s.clients_online);
    set("clients-offline", s.clients_offline);
    set("connect-rate", connect); set("publish-in-rate", pin); set("publish-out-rate", pout);
    set("drop-rate", drop); set("msg-queued", s.msg_queued);
    set("node-name", s.node); set("node-version", s.version);
    set("node-peers", s.reachable_nodes + " of " + s.cluster_size);
    var protocols = document.getElementById("node-protocols");
    protocols.textContent = "";
    s.protocols.forEach(function (p) {
      var b = document.createElement("span"); b.className = "badge proto"; b.textContent = p.toUpperCase();
      protocols.appendChild(b); protocols.appendChild(document.createTextNode(" "));
    });
    set("node-online", s.clients_online); set("node-offline", s.clients_offline);
    set("node-connect-rate", connect); set("node-publish-in-rate", pin); set("node-publish-out-rate", pout);
    set("node-publish-in", s.publish_received); set("node-publish-out", s.publish_sent);
    set("node-drop-rate", drop); set("node-queued", s.msg_queued);
    set("node-subscriptions", s.subscriptions); set("node-retained", s.retained);
    var body = document.getElementById("issues-body");
    body.textContent = "";
    if (s.issues.length === 0) {
      var tr = document.createElement("tr"); var td = document.createElement("td");
      td.className = "left"; td.colSpan = 2; td.textContent = "No issues"; tr.appendChild(td); body.appendChild(tr);
    }
    s.issues.forEach(function (msg) {
      var tr = document.createElement("tr");
      var n = document.createElement("td"); n.className = "left"; n.innerHTML = "<b></b>"; n.firstChild.textContent = s.node;
      var m = document.createElement("td"); m.className = "left";
      var w = document.createElement("span"); w.className = "badge warning"; w.textContent = "warning";
      m.appendChild(w); m.appendChild(document.createTextNode(" " + msg));
      tr.appendChild(n); tr.appendChild(m); body.appendChild(tr);
    });
    set("refreshed", new Date().toISOString());
    document.body.setAttribute("data-loaded", "true");
    previous = s;
  }
  function refresh() {
    fetch("status.json", { cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(show)
      .catch(function (e) { set("refreshed", "failed: " + e); })
      .finally(function () { setTimeout(refresh, every); });
  }
  refresh();
})();
</script>
</body>
</html>
"##;
