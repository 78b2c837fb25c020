// The ATM fleet page: every terminal with its status, cassettes, cash, forecast and open
// alerts, and the event log live from GET /v1/events. EventSource cannot send an Authorization
// header, so the stream is read with fetch() and its Server-Sent Events frames parsed here;
// it resumes with Last-Event-ID after a drop.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, $, el, money, amount, describe, showError } = Bank;
  const MAX_ROWS = 300;
  const RETRY_SECONDS = [1, 2, 5, 10, 15];
  const WATCHDOG_MS = 45000; // the server writes a comment every 15 s

  let running = false;
  let terminals = new Map(); // id → status from /v1/atms
  const alerts = new Map(); // id → open alert events
  let received = 0;
  let lastSeq = 0;
  let queue = [];
  let flushTimer = null;
  let refreshTimer = null;
  let firstFlushDone = false;
  let connectedAt = 0;
  const stream = { controller: null, retry: 0, retryTimer: null, watchdog: null };

  // MARK: Terminals

  async function loadTerminals() {
    showError('fleet-error', '');
    $('terminals').setAttribute('aria-busy', 'true');
    try {
      const { data } = await api('GET', '/v1/atms');
      if (!running) return;
      terminals = new Map((data.terminals || []).map((t) => [t.terminal, t]));
      renderTerminals();
      $('fleet-status').textContent =
        terminals.size + (terminals.size === 1 ? ' terminal' : ' terminals') + ', updated ' + new Date().toLocaleTimeString() + '.';
    } catch (e) {
      if (running) showError('fleet-error', describe(e));
    } finally {
      $('terminals').setAttribute('aria-busy', 'false');
    }
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      if (running) loadTerminals();
    }, 400);
  }

  /// "2000.00" × 49 → "98000.00", in exact decimal.
  function times(decimal, count) {
    const m = /^(\d+)(?:\.(\d+))?$/.exec(String(decimal));
    if (!m) return '';
    const scale = (m[2] || '').length;
    let digits = (BigInt(m[1] + (m[2] || '')) * BigInt(count)).toString();
    if (scale === 0) return digits;
    digits = digits.padStart(scale + 1, '0');
    return digits.slice(0, -scale) + '.' + digits.slice(-scale);
  }

  function forecast(hours) {
    if (hours === null || hours === undefined) return 'No use in 7 days';
    if (hours < 48) return hours + (hours === 1 ? ' hour' : ' hours');
    const days = Math.floor(hours / 24);
    return days.toLocaleString() + ' days';
  }

  function cassetteBadge(status) {
    const kind = status === 'ok' ? 'ok' : status === 'low' ? 'warn' : 'bad';
    return el('span', { class: 'badge ' + kind, text: Bank.words(status) });
  }

  function alertsFor(id) {
    if (!alerts.has(id)) alerts.set(id, []);
    return alerts.get(id);
  }

  function renderAlerts(id) {
    const list = $('alerts-' + id);
    const count = $('alerts-count-' + id);
    if (!list || !count) return;
    const open = alertsFor(id);
    count.textContent = String(open.length);
    list.replaceChildren();
    if (open.length === 0) {
      list.append(el('li', { class: 'muted', text: 'None' }));
      return;
    }
    for (const a of open.slice().reverse()) {
      list.append(el('li', { dataset: { event: a.event } }, [Bank.timeElement(a.time, true), ' ', a.detail]));
    }
  }

  function renderTerminal(t) {
    const id = t.terminal;
    const rows = (t.cassettes || []).map((c, i) =>
      el('tr', { dataset: { denomination: c.denomination, status: c.status }, id: 'cassette-' + id + '-' + i }, [
        el('td', { class: 'num' }, amount(c.denomination)),
        el('td', { class: 'num', text: String(c.count) }),
        el('td', {}, cassetteBadge(c.status)),
        el('td', { class: 'nowrap' }, forecast(c.hours_to_empty)),
        el('td', { class: 'num', text: c.per_day }),
        el('td', { class: 'num' }, amount(times(c.denomination, c.count))),
      ]),
    );
    const facts = el('dl', { class: 'facts' }, [
      el('dt', { text: 'Cash' }),
      el('dd', { id: 'cash-' + id, dataset: { amount: t.cash } }, money(t.cash, t.currency)),
      el('dt', { text: 'Cassettes' }),
      el('dd', { text: String((t.cassettes || []).length) }),
    ]);
    if (t.deposits && t.deposits.length) {
      const notes = t.deposits.map((d) => amount(d.denomination) + ' × ' + d.count).join(', ');
      facts.append(el('dt', { text: 'Deposit bin' }), el('dd', { text: notes }));
    }
    if (t.holds && t.holds.length) {
      facts.append(el('dt', { text: 'Pending holds' }), el('dd', { text: t.holds.join(', ') }));
    }
    const article = el('article', { class: 'card terminal', id: 'terminal-' + id, 'aria-labelledby': 'terminal-title-' + id }, [
      el('header', {}, [
        el('h2', { id: 'terminal-title-' + id, text: id }),
        el('span', {
          id: 'status-' + id,
          class: 'badge ' + (t.in_service ? 'ok' : 'bad'),
          dataset: { inService: String(Boolean(t.in_service)) },
          text: t.in_service ? 'In service' : 'Out of service',
        }),
      ]),
      facts,
      el('div', { class: 'table-wrap', id: 'cassettes-wrap-' + id, role: 'region', 'aria-labelledby': 'cassettes-caption-' + id, tabindex: '0' }, [
        el('table', { id: 'cassettes-' + id }, [
          el('caption', { id: 'cassettes-caption-' + id, text: 'Cassettes and forecast (' + t.currency + ')' }),
          el('thead', {}, el('tr', {}, [
            el('th', { scope: 'col', class: 'num', text: 'Note' }),
            el('th', { scope: 'col', class: 'num', text: 'Count' }),
            el('th', { scope: 'col', text: 'Status' }),
            el('th', { scope: 'col', text: 'Empty in' }),
            el('th', { scope: 'col', class: 'num', text: 'Notes/day' }),
            el('th', { scope: 'col', class: 'num', text: 'Value' }),
          ])),
          el('tbody', {}, rows.length ? rows : el('tr', {}, el('td', { colspan: '6', class: 'muted', text: 'No cassettes loaded.' }))),
        ]),
      ]),
      el('h3', {}, ['Open alerts (', el('span', { id: 'alerts-count-' + id, text: '0' }), ')']),
      el('ul', { class: 'alerts', id: 'alerts-' + id }),
    ]);
    return article;
  }

  function renderTerminals() {
    const box = $('terminals');
    const focusedId = box.contains(document.activeElement) ? document.activeElement.id : null;
    const ids = Array.from(terminals.keys()).sort();
    box.replaceChildren(...ids.map((id) => renderTerminal(terminals.get(id))));
    if (ids.length === 0) box.append(el('p', { class: 'card muted', text: 'No terminals yet.' }));
    for (const id of ids) renderAlerts(id);
    if (focusedId && $(focusedId)) $(focusedId).focus();
  }

  // MARK: Events

  function setStream(state, text) {
    const s = $('stream-status');
    s.dataset.state = state;
    s.textContent = text;
  }

  function accept(event) {
    const seq = Number(event.event);
    if (Number.isFinite(seq)) {
      if (seq <= lastSeq) return; // already seen (a resumed stream never repeats, but be sure)
      lastSeq = seq;
    }
    received += 1;
    const id = event.terminal;
    // Open alerts: alerts since the terminal last came into service or was loaded.
    if (event.type === 'in_service' || event.type === 'cash_loaded') alertsFor(id).length = 0;
    else if (event.type === 'alert') alertsFor(id).push(event);
    queue.push(event);
    if (!flushTimer) flushTimer = setTimeout(flush, 50);
  }

  function flush() {
    flushTimer = null;
    if (!running) {
      queue = [];
      return;
    }
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    // The first batches are the log so far; later ones happened while we watch.
    const live = firstFlushDone && Date.now() - connectedAt > 1500;
    firstFlushDone = true;
    const body = $('event-log');
    const fragment = document.createDocumentFragment();
    const touched = new Set();
    for (const e of batch.slice(-MAX_ROWS).reverse()) {
      fragment.append(
        el('li', { id: 'event-' + e.event, class: 'event' + (live ? ' fresh' : '') + (e.type === 'alert' ? ' is-alert' : ''), dataset: { type: e.type, terminal: e.terminal } }, [
          el('p', { class: 'event-head' }, [
            el('strong', { text: Bank.words(e.type).replace(/^Pin /, 'PIN ') }),
            ' · ' + e.terminal + ' · ',
            Bank.timeElement(e.time, true),
          ]),
          el('p', { class: 'event-detail', text: e.detail }),
        ]),
      );
    }
    for (const e of batch) touched.add(e.terminal);
    body.prepend(fragment);
    while (body.children.length > MAX_ROWS) body.lastElementChild.remove();
    $('event-count').textContent = String(received);
    for (const id of touched) renderAlerts(id);
    if (live) {
      const newAlerts = batch.filter((e) => e.type === 'alert');
      $('event-announce').textContent = newAlerts.length
        ? 'New alert at ' + newAlerts[newAlerts.length - 1].terminal + ': ' + newAlerts[newAlerts.length - 1].detail
        : batch.length + (batch.length === 1 ? ' new event' : ' new events') + ' at ' + Array.from(touched).join(', ');
    }
    // Cassettes, cash and service status follow the events: read them again.
    if (live || Array.from(touched).some((id) => !terminals.has(id))) scheduleRefresh();
  }

  /// One SSE frame: `id:`, `event:` and `data:` lines; comments (`: ping`) keep it alive.
  function frame(text) {
    let data = [];
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data.push(value);
    }
    if (data.length === 0) return;
    try {
      const event = JSON.parse(data.join('\n'));
      if (event && typeof event === 'object') accept(event);
    } catch (_) {
      /* a frame that is not JSON: ignored */
    }
  }

  function armWatchdog(controller) {
    clearTimeout(stream.watchdog);
    stream.watchdog = setTimeout(() => controller.abort(), WATCHDOG_MS);
  }

  function retryLater(reason) {
    if (!running) return;
    const wait = RETRY_SECONDS[Math.min(stream.retry, RETRY_SECONDS.length - 1)];
    stream.retry += 1;
    setStream('retry', (reason ? reason + ' ' : '') + 'Reconnecting in ' + wait + ' s…');
    clearTimeout(stream.retryTimer);
    stream.retryTimer = setTimeout(connect, wait * 1000);
  }

  async function connect() {
    if (!running) return;
    const s = Bank.session();
    if (!s) return;
    const controller = new AbortController();
    stream.controller = controller;
    setStream('connecting', lastSeq ? 'reconnecting…' : 'connecting…');
    const headers = { Authorization: 'Bearer ' + s.session, Accept: 'text/event-stream' };
    if (lastSeq) headers['Last-Event-ID'] = String(lastSeq);
    let response;
    try {
      response = await fetch('/v1/events', { headers, signal: controller.signal, cache: 'no-store', credentials: 'omit' });
    } catch (_) {
      if (stream.controller === controller) retryLater('The event stream could not be reached.');
      return;
    }
    if (!response.ok) {
      let message = 'The event stream was refused (HTTP ' + response.status + ').';
      try {
        const body = await response.json();
        if (body && body.error && body.error.message) {
          const m = String(body.error.message);
          message = m.charAt(0).toUpperCase() + m.slice(1) + (/[.!?]$/.test(m) ? '' : '.');
        }
      } catch (_) {
        /* no body */
      }
      if (response.status === 401) {
        Bank.sessionEnded('Your session has ended. Please log in again.');
        return;
      }
      if (response.status === 403 || response.status === 400) {
        setStream('error', 'not available');
        showError('fleet-error', message);
        return;
      }
      retryLater(message);
      return;
    }
    setStream('live', 'live');
    stream.retry = 0;
    if (!connectedAt) connectedAt = Date.now();
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    armWatchdog(controller);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        armWatchdog(controller);
        buffer += decoder.decode(value, { stream: true });
        // Frames end with a blank line; \r\n and \r end lines too.
        buffer = buffer.replace(/\r\n/g, '\n');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          frame(buffer.slice(0, end).replace(/\r/g, '\n'));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (_) {
      /* dropped or aborted */
    }
    clearTimeout(stream.watchdog);
    if (stream.controller === controller && running) retryLater('The event stream was interrupted.');
  }

  function disconnect() {
    clearTimeout(stream.retryTimer);
    clearTimeout(stream.watchdog);
    if (stream.controller) stream.controller.abort();
    stream.controller = null;
  }

  $('fleet-refresh').addEventListener('click', () => loadTerminals());

  // MARK: Session

  Bank.page({
    loginKind: 'staff',
    roles: ['manager', 'auditor'],
    wrongRoleText: 'The ATM fleet page is for managers and auditors.',
    async onStart() {
      running = true;
      received = 0;
      lastSeq = 0;
      firstFlushDone = false;
      connectedAt = 0;
      alerts.clear();
      $('event-log').replaceChildren();
      $('event-count').textContent = '0';
      await loadTerminals();
      connect();
    },
    onStop() {
      running = false;
      disconnect();
      clearTimeout(refreshTimer);
      clearTimeout(flushTimer);
      flushTimer = null;
      queue = [];
      terminals = new Map();
      alerts.clear();
      $('terminals').replaceChildren();
      $('event-log').replaceChildren();
      $('event-count').textContent = '0';
      $('event-announce').textContent = '';
      $('fleet-status').textContent = '';
      showError('fleet-error', '');
      setStream('idle', 'not connected');
    },
  });
});
