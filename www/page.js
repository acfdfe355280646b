// SPDX-License-Identifier: MIT
// The owner's page: shows supportvpnd's status, prerequisite lights and
// session history, and drives start, stop, "start when possible" and
// extend through the daemon's HTTP interface (/api/*, a page session from
// /login). Live updates come as Server-Sent Events (/api/events), with a
// status poll as the safety net. Every action says it is working and ends
// in a sentence: success, or what failed.
"use strict";

(function () {
  var I = window.svpnI18n;
  var t = I.t;

  var CHECKS = ["gateway_assigned", "gateway_reachable", "public_ip",
    "dns_server", "dns_resolution", "cloud_reachable", "clock"];
  // openvpn's states on the way up (UDP has no TCP_CONNECT); the progress
  // bar shows how far along the furthest one seen is.
  var STEPS = ["RESOLVE", "WAIT", "AUTH", "GET_CONFIG", "ASSIGN_IP",
    "ADD_ROUTES", "CONNECTED"];
  // How long the page follows a start before it says it did not connect
  // (the manual allows 30 s on a bad network); openvpn keeps trying.
  var START_WATCH_S = 90;
  var POLL_MS = 5000;
  var HISTORY_ROWS = 20;    // sessions shown, newest first

  var st = {
    status: null,       // the newest status object
    loggedIn: false,
    busy: false,        // an action runs; the controls wait
    watcher: null,      // a running start: function (status) -> done?
    progress: [],       // openvpn's states in this attempt
    attempt: 1,         // openvpn's attempts since the start
    refusal: "",        // why a hub was refused since the start
    lastDetail: "",     // the newest state event's detail
    es: null,
    live: "connecting",
    polls: 0,
    refreshTimer: null
  };

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls)
      e.className = cls;
    if (text !== undefined && text !== null)
      e.textContent = text;
    return e;
  }

  // -- formatting ---------------------------------------------------------

  // The browser's own locale for the chosen language (en-GB, de-AT, ...).
  var locale = (function () {
    var langs = navigator.languages || [navigator.language || "en"];
    for (var i = 0; i < langs.length; i++)
      if (String(langs[i]).toLowerCase().split("-")[0] === I.lang)
        return langs[i];
    return I.lang;
  })();

  function fmtTime(iso) {
    if (!iso)
      return "";
    var d = new Date(iso);
    if (isNaN(d.getTime()))
      return iso;
    return new Intl.DateTimeFormat(locale, { year: "numeric",
      month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      second: "2-digit" }).format(d);
  }

  function fmtBytes(n) {
    if (typeof n !== "number")
      return "–";
    var units = ["B", "KiB", "MiB", "GiB", "TiB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return new Intl.NumberFormat(locale, { maximumFractionDigits:
      i === 0 ? 0 : 1 }).format(n) + " " + units[i];
  }

  // supportvpnd's sentences end without a full stop; ours go on after
  // them.
  function sentence(text) {
    text = String(text || "").trim();
    return text && !/[.!?]$/.test(text) ? text + "." : text;
  }

  // -- talking to supportvpnd ---------------------------------------------

  // One request. Never rejects and never waits longer than timeoutS:
  // resolves {ok: true, data} or {ok: false, status, code, message} with a
  // sentence (supportvpnd's own message where it gave one).
  function call(method, path, body, timeoutS) {
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, timeoutS * 1000);
    var opt = { method: method, signal: ctl.signal, cache: "no-store",
      credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      opt.headers["Content-Type"] = "application/json";
      opt.body = JSON.stringify(body);
    }
    return fetch(path, opt).then(function (r) {
      return r.text().then(function (text) {
        return { r: r, text: text };
      });
    }).then(function (x) {
      var data = null;
      clearTimeout(timer);
      try {
        data = x.text ? JSON.parse(x.text) : null;
      } catch (e) {
        data = null;
      }
      if (x.r.ok)
        return { ok: true, status: x.r.status, data: data };
      var err = (data && data.error) || {};
      return { ok: false, status: x.r.status, code: err.code || "http",
        message: err.message || t("m_http", { code: x.r.status }) };
    }, function (e) {
      clearTimeout(timer);
      if (ctl.signal.aborted)
        return { ok: false, status: 0, code: "no_answer",
          message: t("m_no_answer", { s: timeoutS }) };
      return { ok: false, status: 0, code: "network",
        message: t("m_unreachable", { why: e && e.message }) };
    });
  }

  // -- what the page shows ----------------------------------------------------

  function say(kind, text) {
    var m = $("message");
    m.setAttribute("data-kind", kind);
    m.textContent = text || "";
  }

  function setLive(how) {
    st.live = how;
    var l = $("live");
    l.setAttribute("data-live", how);
    l.textContent = t("live_" + how);
  }

  function renderLight(li, item) {
    var name = li.getAttribute("data-check");
    var ok = !!(item && item.ok === true);
    var known = !!(item && item.checked_at);
    var how = ok ? "ok" : known ? "fail" : "unknown";
    var head, lamp;

    li.setAttribute("data-ok", ok ? "true" : "false");
    li.setAttribute("data-state", how);
    li.textContent = "";
    head = el("div", "light-head");
    lamp = el("span", "lamp", ok ? "✓" : known ? "✗" : "?");
    lamp.setAttribute("aria-hidden", "true");
    head.appendChild(lamp);
    head.appendChild(el("span", "light-word", t("lt_" + how)));
    head.appendChild(el("span", "light-name", t("c_" + name)));
    li.appendChild(head);
    li.appendChild(el("p", "light-detail", item && item.detail ?
      item.detail : t("lt_unknown")));
    if (how === "fail")
      li.appendChild(el("p", "light-fix", t("fix_" + name)));
  }

  function renderChecks(c) {
    var byName = {};
    var items = (c && c.items) || [];
    var lis = $("lights").querySelectorAll("[data-check]");
    var at = $("checked-at");

    for (var i = 0; i < items.length; i++)
      byName[items[i].name] = items[i];
    for (i = 0; i < lis.length; i++)
      renderLight(lis[i], byName[lis[i].getAttribute("data-check")]);
    if (c && c.enabled === false)
      at.textContent = t("checks_off");
    else if (c && c.running)
      at.textContent = t("checks_running");
    else if (c && c.checked_at)
      at.textContent = t("checked_at", { t: fmtTime(c.checked_at) });
    else
      at.textContent = "";
  }

  function sessionEnd(s) {
    if (s.expires_at)
      return fmtTime(s.expires_at);
    if (!s.session)
      return "–";
    if (s.session.duration_s === 0)
      return t("no_end");
    return t("end_after_connect");
  }

  function renderTunnel(s) {
    var tun = s.tunnel;
    var box = $("tunnel");
    var up = s.vpn === "connected" && !!tun;

    box.hidden = !up;
    if (!up)
      return;
    $("hub").textContent = tun.server_cn || tun.server_ip || "?";
    $("hub-addr").textContent = tun.server_ip ? "(" + tun.server_ip +
      (tun.server_port ? ":" + tun.server_port : "") + ")" : "";
    $("tunnel-ip").textContent = tun.local_ip || "–";
    $("since").textContent = fmtTime(s.since);
    $("bytes").textContent = t("bytes_fmt", { "in": fmtBytes(tun.bytes_in),
      out: fmtBytes(tun.bytes_out) });
    $("session-end").textContent = sessionEnd(s);
    $("extend-box").hidden = !(st.loggedIn && s.expires_at);
  }

  function resetProgress() {
    st.progress = [];
    st.attempt = 1;
  }

  function renderProgress(s) {
    var box = $("progress-box");
    var list = $("progress");
    var furthest = 0;
    var show = s && (s.vpn === "starting" || s.vpn === "reconnecting" ||
      (st.watcher !== null && s.vpn !== "connected"));

    box.hidden = !show;
    list.textContent = "";
    for (var i = 0; i < st.progress.length; i++) {
      var p = st.progress[i];
      var li = el("li", i === st.progress.length - 1 ? "current" : "done");
      li.setAttribute("data-state", p.state);
      li.appendChild(el("span", "step", I.has("ov_" + p.state) ?
        t("ov_" + p.state) : p.state));
      if (p.detail)
        li.appendChild(el("span", "step-detail", p.detail));
      list.appendChild(li);
      furthest = Math.max(furthest, STEPS.indexOf(p.state) + 1);
    }
    $("progress-bar").value = furthest;
    $("attempt").textContent = st.attempt > 1 ?
      "(" + t("attempt", { n: st.attempt }) + ")" : "";
  }

  function renderControls() {
    var s = st.status || {};
    var vpn = s.vpn || "unknown";
    var cannotStart = st.busy || vpn === "starting" || vpn === "connected" ||
      vpn === "reconnecting" || vpn === "stopping" || vpn === "unknown";
    var nothingToStop = vpn === "stopped" && !s.start_when_possible;

    $("btn-start").disabled = cannotStart;
    $("duration").disabled = cannotStart;
    $("btn-stop").disabled = st.busy || nothingToStop || vpn === "unknown";
    $("opt-when-possible").disabled = st.busy || vpn === "unknown";
    $("btn-extend").disabled = st.busy;
    $("extend-by").disabled = st.busy;
    $("btn-refresh").disabled = st.busy;
    $("actions").setAttribute("aria-busy", st.busy ? "true" : "false");
  }

  function renderStatus(s) {
    var badge = $("vpn-state");
    var vpn = s.vpn || "unknown";

    badge.setAttribute("data-vpn", vpn);
    badge.querySelector(".badge-text").textContent =
      I.has("vpn_" + vpn) ? t("vpn_" + vpn) : vpn;
    // While openvpn retries a refused hub, the refusal stays in view (the
    // daemon's detail moves on to the next attempt at once).
    var refused = st.refusal !== "" && (vpn === "starting" ||
      vpn === "reconnecting");
    $("vpn-detail").textContent = refused ? st.refusal : s.detail || "";
    $("vpn-detail").setAttribute("data-refused", refused ? "true" : "false");
    if (!st.busy)
      $("opt-when-possible").checked = !!s.start_when_possible;
    renderTunnel(s);
    renderProgress(s);
    renderControls();
    if (s.checks)
      renderChecks(s.checks);
  }

  // A new status object (from an answer, a poll or the event stream).
  function applyStatus(s) {
    if (!s || typeof s.vpn !== "string")
      return;
    if (s.vpn === "starting" && (!st.status ||
        st.status.vpn !== "starting") && st.watcher === null)
      resetProgress();
    // A page opened while starting shows openvpn's state so far.
    if (!st.status && s.vpn === "starting" && s.openvpn && s.openvpn.state)
      st.progress.push({ state: s.openvpn.state, detail: "" });
    if (s.vpn !== "starting" && s.vpn !== "reconnecting")
      st.refusal = "";
    st.status = s;
    renderStatus(s);
    if (st.watcher)
      st.watcher(s);
  }

  function refreshStatus() {
    return call("GET", "/api/status", undefined, 15).then(function (r) {
      if (r.ok)
        applyStatus(r.data);
      else if (!st.status) {
        $("vpn-detail").textContent = r.message;
        $("vpn-state").setAttribute("data-vpn", "unknown");
        $("vpn-state").querySelector(".badge-text").textContent =
          t("vpn_unknown");
      }
      return r;
    });
  }

  // Events come in bursts (a state change, then openvpn's states): one
  // status fetch shortly after the burst gets the tunnel and the session.
  function refreshSoon() {
    if (st.refreshTimer !== null)
      return;
    st.refreshTimer = setTimeout(function () {
      st.refreshTimer = null;
      refreshStatus();
    }, 150);
  }

  function byWhom(by) {
    if (!by)
      return "–";
    if (typeof by === "string")
      return by;
    return by.as || by.user || by.peer || by.via || "–";
  }

  function whyEnded(why) {
    return I.has("why_" + why) ? t("why_" + why) : (why || "");
  }

  // The history's records (newest first), one row per session.
  function sessionsOf(records) {
    var rows = [], byId = {};
    for (var i = 0; i < records.length; i++) {
      var r = records[i];
      var row;
      if (!r.session)
        continue;
      row = byId[r.session];
      if (!row) {
        row = byId[r.session] = { id: r.session, hubs: [], logins: 0,
          bytes_in: 0, bytes_out: 0, counted: false, bytes: false };
        rows.push(row);
      }
      switch (r.event) {
      case "activated":
        row.started = r.ts;
        row.how = r.how;
        row.by = r.by;
        break;
      case "connected":
        if (r.hub_cn && row.hubs.indexOf(r.hub_cn) < 0)
          row.hubs.push(r.hub_cn);
        break;
      case "login":
        if (r.granted && !row.ended)
          row.logins++;
        break;
      case "disconnected":
        if (!row.counted) {
          row.bytes_in += r.bytes_in || 0;
          row.bytes_out += r.bytes_out || 0;
          row.bytes = true;
        }
        break;
      case "ended":
        row.ended = r.ts;
        row.why = r.why;
        row.bytes_in = r.bytes_in || 0;
        row.bytes_out = r.bytes_out || 0;
        row.counted = true;
        row.bytes = true;
        if (typeof r.logins === "number")
          row.logins = r.logins;
        break;
      }
    }
    return rows;
  }

  function cell(tr, main, sub) {
    var td = el("td", null, main);
    if (sub) {
      td.appendChild(document.createElement("br"));
      td.appendChild(el("span", "sub", sub));
    }
    tr.appendChild(td);
  }

  function renderHistory(records) {
    var body = $("history").querySelector("tbody");
    var rows = sessionsOf(records || []).slice(0, HISTORY_ROWS);

    body.textContent = "";
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var tr = el("tr");
      tr.setAttribute("data-session", r.id);
      tr.setAttribute("data-open", r.ended ? "false" : "true");
      cell(tr, r.started ? fmtTime(r.started) : "–", r.how ?
        t("how_" + r.how) : "");
      cell(tr, byWhom(r.by));
      cell(tr, r.hubs.length ? r.hubs.join(", ") : "–");
      cell(tr, r.ended ? fmtTime(r.ended) : t("still_open"),
        r.ended ? whyEnded(r.why) : "");
      // Counted when a connection ends: nothing yet for an open one.
      cell(tr, r.bytes ? t("bytes_fmt", { "in": fmtBytes(r.bytes_in),
        out: fmtBytes(r.bytes_out) }) : "–");
      cell(tr, String(r.logins));
      body.appendChild(tr);
    }
    $("history-empty").hidden = rows.length > 0;
    $("history").hidden = rows.length === 0;
  }

  function loadHistory() {
    return call("GET", "/api/history?limit=200", undefined, 15).then(
      function (r) {
        if (r.ok && r.data)
          renderHistory(r.data.records);
      });
  }

  function loadVersion() {
    call("GET", "/api/version", undefined, 15).then(function (r) {
      if (!r.ok || !r.data)
        return;
      $("version").textContent = "supportvpnd " + r.data.supportvpnd +
        (r.data.openvpn ? " · openvpn " + r.data.openvpn : "");
    });
  }

  // -- live updates --------------------------------------------------------------

  function parse(e) {
    try {
      return JSON.parse(e.data);
    } catch (x) {
      return null;
    }
  }

  function onStateEvent(d) {
    var s = {};
    var k;
    if (!st.status)
      return refreshSoon();
    for (k in st.status)
      s[k] = st.status[k];
    s.vpn = d.vpn;
    s.detail = d.detail;
    if (typeof d.start_when_possible === "boolean")
      s.start_when_possible = d.start_when_possible;
    if (d.time)
      s.since = d.time;
    if (d.vpn !== "connected")
      delete s.tunnel;
    if (d.vpn === "starting" && d.previous !== "starting" &&
        d.previous !== "reconnecting" && st.watcher === null)
      resetProgress();
    st.lastDetail = d.detail || "";
    applyStatus(s);
    refreshSoon();
  }

  function onOpenvpnEvent(d) {
    var s = st.status;
    var last = st.progress[st.progress.length - 1];
    if (d.kind !== "state" || !d.state)
      return;
    if (!s || (s.vpn !== "starting" && s.vpn !== "reconnecting" &&
        st.watcher === null))
      return;
    if (last && last.state === d.state)
      return;
    // After a failed attempt openvpn starts over: so does the list.
    if (last && last.state === "RECONNECTING") {
      st.progress = [];
      st.attempt++;
    }
    st.progress.push({ state: d.state, detail: d.detail || "" });
    renderProgress(s);
  }

  // supportvpnd words a refusal in the state event just before this one
  // (its status moves on to the next attempt within milliseconds).
  function onPeerEvent(d) {
    if (d.kind !== "tls_verify" || d.result !== "refused")
      return;
    st.refusal = st.lastDetail || d.reason || d.rule || "refused";
    if (st.status)
      applyStatus(st.status);
  }

  function connectEvents() {
    var es;
    if (!window.EventSource)
      return;
    es = new EventSource("/api/events");
    st.es = es;
    setLive("connecting");
    es.onopen = function () {
      setLive("open");
      refreshStatus();
    };
    es.onerror = function () {
      setLive("lost");
      // EventSource retries by itself unless the server refused the
      // stream; then start a new one after a pause.
      if (es.readyState === EventSource.CLOSED) {
        es.close();
        if (st.es === es)
          setTimeout(connectEvents, 3000);
      }
    };
    es.addEventListener("status", function (e) {
      var d = parse(e);
      if (d)
        applyStatus(typeof d.vpn === "string" ? d : d.status || d.result);
    });
    es.addEventListener("state", function (e) {
      var d = parse(e);
      if (d)
        onStateEvent(d);
    });
    es.addEventListener("checks", function (e) {
      var d = parse(e);
      if (!d)
        return;
      if (st.status)
        st.status.checks = d;
      renderChecks(d);
    });
    es.addEventListener("openvpn", function (e) {
      var d = parse(e);
      if (d)
        onOpenvpnEvent(d);
    });
    es.addEventListener("peer", function (e) {
      var d = parse(e);
      if (d)
        onPeerEvent(d);
    });
    es.addEventListener("session", function () {
      refreshSoon();
      loadHistory();
    });
  }

  // -- actions -----------------------------------------------------------------------

  function setBusy(on) {
    st.busy = on;
    renderControls();
  }

  // Runs fn (a promise of {kind, text}) with the controls waiting and the
  // message saying it works; the outcome ends in the message.
  function runAction(working, fn) {
    if (st.busy)
      return Promise.resolve();
    setBusy(true);
    say("working", working);
    return Promise.resolve().then(fn).then(function (res) {
      say(res.kind, res.text);
    }, function (e) {
      say("error", String(e && e.message || e));
    }).then(function () {
      setBusy(false);
      if (st.status)
        renderStatus(st.status);
      loadHistory();
    });
  }

  // A refused request: when it was for want of a login, show the form.
  function failed(key, r) {
    if (r.status === 403 && r.code === "forbidden")
      return checkLogin().then(function (on) {
        return { kind: "error", text: on ? t(key, { why: r.message }) :
          t("m_session_gone") };
      });
    return { kind: "error", text: t(key, { why: r.message }) };
  }

  // Follows a start until connected, failed, refused, stopped or the
  // page's patience ends; polls as well in case the event stream is down.
  function watchStart() {
    return new Promise(function (resolve) {
      var poll = setInterval(refreshStatus, 1000);
      var limit = setTimeout(function () {
        var s = st.status || {};
        finish({ kind: "error", text: t("m_timeout", { s: START_WATCH_S,
          why: sentence(s.detail) }) });
      }, START_WATCH_S * 1000);

      function finish(res) {
        clearInterval(poll);
        clearTimeout(limit);
        st.watcher = null;
        resolve(res);
      }
      st.watcher = function (s) {
        if (s.vpn === "connected" && s.tunnel)
          finish({ kind: "ok", text: t("m_connected", { hub:
            (s.tunnel && (s.tunnel.server_cn || s.tunnel.server_ip)) ||
            "?" }) });
        else if (s.vpn === "connected")
          refreshSoon();    // a state event: the tunnel comes with status
        else if (s.vpn === "failed")
          finish({ kind: "error", text: t("m_start_failed",
            { why: s.detail || "" }) });
        else if (s.vpn === "stopped" || s.vpn === "stopping")
          finish({ kind: "error", text: t("m_stopped_meanwhile") });
        else if (st.refusal && (s.vpn === "starting" ||
            s.vpn === "reconnecting"))
          finish({ kind: "error", text: t("m_refused", {
            why: sentence(st.refusal) }) });
      };
      if (st.status)
        st.watcher(st.status);
    });
  }

  function doStart() {
    runAction(t("m_starting"), function () {
      var body = {};
      var d = $("duration").value;
      if (d)
        body.duration_s = Number(d);
      resetProgress();
      st.refusal = "";
      return call("POST", "/api/start", body, 30).then(function (r) {
        if (!r.ok)
          return failed("m_start_failed", r);
        applyStatus(r.data);
        return watchStart();
      });
    });
  }

  function doStop(working) {
    runAction(working || t("m_stopping"), function () {
      return call("POST", "/api/stop", {}, 45).then(function (r) {
        if (!r.ok)
          return failed("m_stop_failed", r);
        applyStatus(r.data);
        return { kind: "ok", text: t("m_stopped") };
      });
    });
  }

  function doArm() {
    runAction(t("m_arming"), function () {
      var body = { when_possible: true };
      var d = $("duration").value;
      if (d)
        body.duration_s = Number(d);
      resetProgress();
      st.refusal = "";
      return call("POST", "/api/start", body, 30).then(function (r) {
        if (!r.ok) {
          $("opt-when-possible").checked = false;
          return failed("m_arm_failed", r);
        }
        applyStatus(r.data);
        return { kind: "ok", text: t("m_armed") };
      });
    });
  }

  function onWhenPossible() {
    if ($("opt-when-possible").checked)
      doArm();
    else
      doStop(t("m_unarming"));
  }

  function doExtend() {
    runAction(t("m_extending"), function () {
      var body = { duration_s: Number($("extend-by").value) };
      return call("POST", "/api/extend", body, 30).then(function (r) {
        if (!r.ok)
          return failed("m_extend_failed", r);
        applyStatus(r.data);
        return { kind: "ok", text: t("m_extended", { t:
          fmtTime(r.data && r.data.expires_at) }) };
      });
    });
  }

  function doRefreshChecks() {
    runAction(t("m_checking"), function () {
      return call("GET", "/api/checks?refresh=1", undefined, 60).then(
        function (r) {
          var items, bad = 0;
          if (!r.ok)
            return { kind: "error", text: t("m_check_failed",
              { why: r.message }) };
          renderChecks(r.data);
          items = (r.data && r.data.items) || [];
          for (var i = 0; i < items.length; i++)
            if (!items[i].ok)
              bad++;
          return bad === 0 ? { kind: "ok", text: t("m_checked_ok") } :
            { kind: "error", text: t("m_checked_fail", { n: bad,
              all: items.length }) };
        });
    });
  }

  // -- the page session --------------------------------------------------------------

  function setLoggedIn(on) {
    st.loggedIn = on;
    $("actions").hidden = !on;
    $("login-form").hidden = on;
    if (st.status)
      renderStatus(st.status);
  }

  function checkLogin() {
    return call("GET", "/api/whoami", undefined, 15).then(function (r) {
      var on = !!(r.ok && r.data && r.data.session === true);
      setLoggedIn(on);
      return on;
    });
  }

  // The forms post by fetch (the page stays, and the request carries the
  // page's Origin whatever the Referrer-Policy); without JavaScript they
  // post as plain forms.
  function postForm(path, params) {
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, 15000);
    return fetch(path, { method: "POST", body: new URLSearchParams(params),
      credentials: "same-origin", signal: ctl.signal, cache: "no-store" })
      .then(function (r) {
        clearTimeout(timer);
        return { ok: true, url: r.url };
      }, function (e) {
        clearTimeout(timer);
        return { ok: false, message: ctl.signal.aborted ?
          t("m_no_answer", { s: 15 }) : t("m_unreachable",
            { why: e && e.message }) };
      });
  }

  function onLogin(ev) {
    var bad = $("login-failed");
    var token = $("token").value;
    var button = $("login-form").querySelector("button");

    ev.preventDefault();
    bad.hidden = true;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    postForm("/login", { token: token }).then(function (r) {
      $("token").value = "";
      if (!r.ok) {
        bad.textContent = r.message;
        bad.hidden = false;
        return;
      }
      return checkLogin().then(function (on) {
        if (!on) {
          bad.textContent = t("login_failed");
          bad.hidden = false;
        } else {
          say("none", "");
          loadHistory();
        }
      });
    }).then(function () {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    });
  }

  function onLogout(ev) {
    ev.preventDefault();
    postForm("/logout", {}).then(function () {
      return checkLogin();
    });
  }

  // -- start ------------------------------------------------------------------------

  function init() {
    I.apply(document);
    if (/[?&]login=failed\b/.test(location.search)) {
      $("login-failed").hidden = false;
      history.replaceState(null, "", location.pathname);
    }
    $("btn-start").addEventListener("click", doStart);
    $("btn-stop").addEventListener("click", function () { doStop(); });
    $("opt-when-possible").addEventListener("change", onWhenPossible);
    $("btn-extend").addEventListener("click", doExtend);
    $("btn-refresh").addEventListener("click", doRefreshChecks);
    $("login-form").addEventListener("submit", onLogin);
    document.querySelector("form.logout").addEventListener("submit",
      onLogout);
    renderChecks(null);
    renderControls();
    checkLogin();
    refreshStatus();
    loadHistory();
    loadVersion();
    connectEvents();
    // The safety net under the event stream, and the tunnel's byte
    // counters (which come with no event): a status poll.
    setInterval(function () {
      var s = st.status;
      st.polls++;
      if (st.live !== "open" || (s && s.vpn === "connected") ||
          st.polls % 3 === 0)
        refreshStatus();
    }, POLL_MS);
  }

  if (document.readyState === "loading")
    document.addEventListener("DOMContentLoaded", init);
  else
    init();
})();
