// bankd web UI: what every page shares — the session, API calls, errors in words, formatting,
// idempotency keys, the login form and logging out. No dependencies, nothing fetched from
// elsewhere; served under a strict Content-Security-Policy (no inline script or style).
'use strict';

const Bank = (() => {
  const STORAGE_KEY = 'bankd.session';

  // MARK: Session

  function session() {
    let s = null;
    try {
      s = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || 'null');
    } catch (_) {
      s = null;
    }
    if (!s || typeof s.session !== 'string' || !s.session) return null;
    if (s.expires_at) {
      const ends = Date.parse(s.expires_at);
      if (!Number.isNaN(ends) && ends <= Date.now()) {
        clearSession();
        return null;
      }
    }
    return s;
  }

  function saveSession(s) {
    sessionStorage.setItem(
      STORAGE_KEY,
      JSON.stringify({
        session: s.session,
        principal: s.principal,
        role: s.role,
        expires_at: s.expires_at,
      }),
    );
  }

  function clearSession() {
    try {
      sessionStorage.removeItem(STORAGE_KEY);
    } catch (_) {
      /* storage unavailable: nothing kept */
    }
  }

  // MARK: API

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /// A server message as a sentence: first letter capitalised, a full stop at the end.
  function sentence(text) {
    let t = String(text || '').trim();
    if (!t) return '';
    t = t.charAt(0).toUpperCase() + t.slice(1);
    if (!/[.!?]$/.test(t)) t += '.';
    return t;
  }

  function fallbackMessage(status) {
    switch (status) {
      case 400:
        return 'The bank could not read that request. Check the fields and try again.';
      case 401:
        return 'Your session has ended. Please log in again.';
      case 403:
        return 'You are not allowed to do that.';
      case 404:
        return 'Not found.';
      case 409:
        return 'This request conflicts with an earlier one.';
      case 413:
        return 'That request is too large.';
      case 422:
        return 'The bank refused this request.';
      case 429:
        return 'Too many attempts. Please wait a moment and try again.';
      case 503:
        return 'The bank is unavailable right now. Please try again shortly.';
      default:
        return 'Something went wrong (HTTP ' + status + '). Please try again.';
    }
  }

  /// One API call: JSON in, JSON out, `Authorization: Bearer` from the session, and every
  /// failure as an `ApiError` whose message is words a person can read.
  async function api(method, path, options = {}) {
    const headers = { Accept: 'application/json' };
    const s = session();
    if (s && !options.anonymous) headers.Authorization = 'Bearer ' + s.session;
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    if (options.key) headers['Idempotency-Key'] = options.key;
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        cache: 'no-store',
        credentials: 'omit',
        signal: options.signal,
      });
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError(
        0,
        'network',
        'The bank could not be reached. Check your connection and try again.',
      );
    }
    let data = null;
    try {
      const text = await response.text();
      data = text ? JSON.parse(text) : null;
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const err = data && data.error ? data.error : null;
      let message = err && err.message ? sentence(err.message) : fallbackMessage(response.status);
      if (response.status === 401 && !options.anonymous) {
        message = 'Your session has ended. Please log in again.';
        sessionEnded(message);
      }
      if (response.status === 429) {
        const wait = response.headers.get('Retry-After');
        if (wait && !/\d+ seconds?/.test(message)) {
          message += ' Try again in ' + wait + ' seconds.';
        }
      }
      throw new ApiError(response.status, err && err.code ? err.code : 'http_' + response.status, message);
    }
    return { status: response.status, data };
  }

  /// The words to show for any failure.
  function describe(error) {
    if (error instanceof ApiError) return error.message;
    return 'Something went wrong: ' + (error && error.message ? error.message : String(error));
  }

  // MARK: Idempotency keys

  /// A fresh key (UUID v4) for one form submission; `crypto.randomUUID` needs a secure
  /// context, `getRandomValues` works everywhere.
  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') {
      try {
        return window.crypto.randomUUID();
      } catch (_) {
        /* fall through */
      }
    }
    const b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join('-');
  }

  // MARK: Formatting

  /// "227400.00" → "227,400.00" without going through floating point.
  function amount(text) {
    const t = String(text == null ? '' : text).trim();
    const m = /^(-?)(\d+)(\.\d+)?$/.exec(t);
    if (!m) return t;
    const whole = m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return (m[1] ? '−' : '') + whole + (m[3] || '');
  }

  function money(text, currency) {
    return amount(text) + (currency ? ' ' + currency : '');
  }

  function isNegative(text) {
    return /^-/.test(String(text || '').trim()) && !/^-0*(\.0*)?$/.test(String(text).trim());
  }

  const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  const timeFormat = new Intl.DateTimeFormat(undefined, {
    dateStyle: 'short',
    timeStyle: 'medium',
  });

  function parseTime(text) {
    // Trim microseconds to milliseconds: every engine parses that.
    const t = String(text || '').replace(/(\.\d{3})\d+/, '$1');
    const d = new Date(t);
    return Number.isNaN(d.getTime()) ? null : d;
  }

  function dateTime(text, precise) {
    const d = parseTime(text);
    if (!d) return String(text || '');
    return (precise ? timeFormat : dateFormat).format(d);
  }

  /// `<time datetime=…>` with a readable date.
  function timeElement(text, precise) {
    const el = document.createElement('time');
    el.dateTime = String(text || '');
    el.textContent = dateTime(text, precise);
    return el;
  }

  function words(identifier) {
    const t = String(identifier || '').replace(/_/g, ' ');
    return t.charAt(0).toUpperCase() + t.slice(1);
  }

  // MARK: DOM helpers

  function $(id) {
    return document.getElementById(id);
  }

  /// An element with a class, text or children: el('td', {class: 'num', text: '1.00'}).
  function el(tag, props = {}, children = []) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') node.textContent = v;
      else if (k === 'class') node.className = v;
      else if (k === 'dataset') Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? '' : v);
    }
    for (const c of [].concat(children)) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function showError(target, message) {
    const node = typeof target === 'string' ? $(target) : target;
    if (!node) return;
    // Live regions stay in the page (empty ones take no room), so a change is announced.
    node.textContent = message || '';
  }

  function showResult(target, content) {
    const node = typeof target === 'string' ? $(target) : target;
    if (!node) return;
    node.replaceChildren();
    if (content instanceof Node) node.append(content);
    else if (content) node.textContent = content;
  }

  /// Checks a form's fields; marks the invalid ones and returns the first problem in words.
  function validate(form) {
    let problem = null;
    for (const field of form.querySelectorAll('input, select, textarea')) {
      if (field.type === 'hidden' || field.disabled) continue;
      const ok = field.checkValidity();
      if (ok) {
        field.removeAttribute('aria-invalid');
        continue;
      }
      field.setAttribute('aria-invalid', 'true');
      if (!problem) {
        const label = form.querySelector('label[for="' + field.id + '"]');
        const name = label ? (label.firstChild || label).textContent.trim() : field.name || 'This field';
        let why = field.validationMessage || 'Please check this field.';
        if (field.validity.valueMissing) why = 'This field is required.';
        else if (field.validity.patternMismatch && field.dataset.format) why = field.dataset.format;
        problem = { field, message: name + ': ' + why };
      }
    }
    return problem;
  }

  function clearInvalid(form) {
    for (const field of form.querySelectorAll('[aria-invalid]')) field.removeAttribute('aria-invalid');
  }

  /// Wires a form that submits once at a time: the button is disabled while a request is in
  /// flight, so a double click never sends twice. `run` returns nothing; it shows its own
  /// result. Errors are shown in the form's alert.
  function submitOnce(form, errorTarget, run) {
    let busy = false;
    const buttons = () => form.querySelectorAll('button[type="submit"], button:not([type])');
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (busy) return;
      showError(errorTarget, '');
      const problem = validate(form);
      if (problem) {
        showError(errorTarget, problem.message);
        problem.field.focus();
        return;
      }
      busy = true;
      // A disabled button loses the keyboard focus: give it back when the request is done.
      const focused = document.activeElement;
      form.setAttribute('aria-busy', 'true');
      for (const b of buttons()) {
        b.disabled = true;
        if (b.dataset.busyText) {
          b.dataset.idleText = b.textContent;
          b.textContent = b.dataset.busyText;
        }
      }
      try {
        await run(event);
      } catch (e) {
        if (!(e && e.name === 'AbortError')) showError(errorTarget, describe(e));
      } finally {
        busy = false;
        form.removeAttribute('aria-busy');
        for (const b of buttons()) {
          b.disabled = false;
          if (b.dataset.idleText) b.textContent = b.dataset.idleText;
        }
        restoreFocus(focused);
      }
    });
    form.addEventListener('input', (event) => {
      if (event.target && event.target.hasAttribute && event.target.hasAttribute('aria-invalid')) {
        if (event.target.checkValidity()) event.target.removeAttribute('aria-invalid');
      }
    });
  }

  /// Puts the focus back on `element` when it was lost to the page (a disabled or replaced
  /// control), and the element is still there and usable.
  function restoreFocus(element) {
    const active = document.activeElement;
    if (active && active !== document.body && active !== document.documentElement) return;
    if (element && element.isConnected && !element.disabled && !element.closest('[hidden]')) {
      element.focus();
    }
  }

  // MARK: Pages

  const PAGES = {
    customer: 'customer.html',
    teller: 'teller.html',
    manager: 'fleet.html',
    auditor: 'fleet.html',
  };

  function homeFor(role) {
    return PAGES[role] || 'index.html';
  }

  let current = null;

  /// What happens when the session ends (401 or logged out): the page stops and shows login.
  function sessionEnded(message) {
    clearSession();
    if (current) current.stop(message);
  }

  /// Sets up a page: its login form, the logout button, the role check, and `onStart(session,
  /// fresh)` / `onStop()` around a session.
  function page(config) {
    const loginSection = $('login-section');
    const app = $('app');
    const wrongRole = $('wrong-role');
    const who = $('who');
    const logout = $('logout');
    const notice = $('login-notice');
    let running = false;

    function markNav(role) {
      for (const li of document.querySelectorAll('[data-roles]')) {
        const roles = li.dataset.roles.split(' ');
        li.hidden = Boolean(role) && !roles.includes(role);
      }
    }

    function showWho(s) {
      if (!who) return;
      if (s) {
        $('who-name').textContent = s.principal + ' (' + s.role + ')';
        who.hidden = false;
      } else {
        who.hidden = true;
      }
    }

    function start(s, fresh) {
      showWho(s);
      markNav(s.role);
      if (loginSection) loginSection.hidden = true;
      if (config.roles && !config.roles.includes(s.role)) {
        if (app) app.hidden = true;
        if (wrongRole) {
          $('wrong-role-message').textContent =
            'You are logged in as ' + s.principal + ' (' + s.role + '). ' + config.wrongRoleText;
          const link = $('wrong-role-link');
          link.href = homeFor(s.role);
          wrongRole.hidden = false;
        }
        return;
      }
      if (wrongRole) wrongRole.hidden = true;
      if (app) app.hidden = false;
      running = true;
      if (fresh && app) {
        // The login form is gone: the keyboard focus goes to the page's heading.
        const heading = app.querySelector('h1');
        if (heading) {
          heading.tabIndex = -1;
          heading.focus();
        }
      }
      config.onStart(s, fresh);
    }

    function stop(message) {
      if (running && config.onStop) config.onStop();
      running = false;
      showWho(null);
      markNav(null);
      if (app) app.hidden = true;
      if (wrongRole) wrongRole.hidden = true;
      if (loginSection) {
        loginSection.hidden = false;
        if (notice) notice.textContent = message || '';
        showError('login-error', '');
        const form = $('login-form');
        if (form) {
          form.reset();
          clearInvalid(form);
        }
        updateLoginKind();
        const first = $('login-id');
        if (first && message) first.focus();
      }
    }

    current = { stop };

    // The login form: either fixed to customers or staff, or with a choice (index).
    const form = $('login-form');
    function loginKind() {
      const chosen = document.querySelector('input[name="login-kind"]:checked');
      return chosen ? chosen.value : config.loginKind;
    }
    function updateLoginKind() {
      const label = $('login-id-label');
      const input = $('login-id');
      if (!label || !input) return;
      const kind = loginKind();
      label.textContent = kind === 'customer' ? 'Customer ID' : 'Staff username';
      input.placeholder = kind === 'customer' ? 'C000001' : '';
      const hint = $('login-id-hint');
      if (hint) {
        hint.textContent =
          kind === 'customer' ? 'A C followed by six digits, as on your welcome letter.' : 'Your branch username.';
      }
    }
    for (const radio of document.querySelectorAll('input[name="login-kind"]')) {
      radio.addEventListener('change', updateLoginKind);
    }
    updateLoginKind();

    if (form) {
      submitOnce(form, 'login-error', async () => {
        if (notice) notice.textContent = '';
        const kind = loginKind();
        let id = $('login-id').value.trim();
        if (kind === 'customer') id = id.toUpperCase();
        const body = { password: $('login-password').value };
        body[kind === 'customer' ? 'customer' : 'staff'] = id;
        const { data } = await api('POST', '/v1/sessions', { body, anonymous: true });
        saveSession(data);
        $('login-password').value = '';
        start(data, true);
      });
    }

    if (logout) {
      logout.addEventListener('click', async () => {
        logout.disabled = true;
        const s = session();
        try {
          if (s) await api('DELETE', '/v1/sessions/current');
        } catch (_) {
          /* logged out locally either way */
        } finally {
          logout.disabled = false;
        }
        clearSession();
        stop('You have logged out.');
      });
    }

    const s = session();
    if (s) start(s, false);
    else stop('');
  }

  return {
    api,
    ApiError,
    describe,
    newKey,
    amount,
    money,
    isNegative,
    dateTime,
    timeElement,
    words,
    $,
    el,
    showError,
    showResult,
    validate,
    clearInvalid,
    submitOnce,
    restoreFocus,
    session,
    saveSession,
    clearSession,
    sessionEnded,
    homeFor,
    page,
  };
})();
