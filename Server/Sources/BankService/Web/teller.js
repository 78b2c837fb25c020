// The teller desk: look up an account or a customer, cash deposits and withdrawals, register a
// customer, open an account. Each form keeps one Idempotency-Key until it succeeds, so a double
// click or a retry never books twice.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, $, el, money, amount, describe, showError, showResult } = Bank;
  const CURRENCIES = ['USD', 'EUR', 'GBP', 'CHF', 'CAD', 'AUD', 'JPY', 'CNY', 'INR', 'KRW', 'KWD', 'BHD'];
  const keys = {};

  for (const select of document.querySelectorAll('.currency-select')) {
    select.replaceChildren(...CURRENCIES.map((c) => el('option', { value: c }, c)));
    select.value = 'USD';
  }

  function freshKeys() {
    for (const form of ['deposit', 'withdraw', 'register', 'open']) renew(form);
  }

  function renew(form) {
    keys[form] = Bank.newKey();
    $(form + '-form').dataset.key = keys[form];
  }

  const value = (id) => $(id).value.trim();

  function facts(pairs) {
    const dl = el('dl', { class: 'facts' });
    for (const [term, description, id, raw] of pairs) {
      dl.append(
        el('dt', { text: term }),
        el('dd', { id, dataset: raw === undefined ? undefined : { amount: raw } }, description),
      );
    }
    return dl;
  }

  function statusBadge(status) {
    return el('span', { class: 'badge ' + (status === 'active' ? 'ok' : 'bad'), text: Bank.words(status) });
  }

  // MARK: Look up

  function accountView(a, prefix) {
    const pairs = [
      ['Account', el('span', { class: 'mono', text: a.account }), prefix + '-account'],
      ['Name', a.name, prefix + '-name'],
      ['Type', Bank.words(a.type), prefix + '-type'],
      ['Status', statusBadge(a.status), prefix + '-status'],
      ['Balance', money(a.balance, a.currency), prefix + '-balance', a.balance],
      ['Available', money(a.available, a.currency), prefix + '-available', a.available],
      ['Pending', money(a.pending, a.currency), prefix + '-pending', a.pending],
      ['Overdraft limit', money(a.overdraft_limit, a.currency), prefix + '-overdraft', a.overdraft_limit],
    ];
    if (a.over_limit) pairs.push(['Over limit', 'Yes', prefix + '-over-limit']);
    return facts(pairs);
  }

  async function recentMovements(number, currency) {
    try {
      const { data } = await api('GET', '/v1/accounts/' + encodeURIComponent(number) + '/history?limit=5');
      const entries = data.entries || [];
      if (entries.length === 0) return el('p', { class: 'muted', text: 'No movements yet.' });
      const rows = entries.map((e) =>
        el('tr', { dataset: { transfer: e.transfer } }, [
          el('td', { class: 'nowrap' }, Bank.timeElement(e.time)),
          el('td', {}, [Bank.words(e.kind), e.memo ? el('span', { class: 'memo', text: e.memo }) : null]),
          el('td', { class: 'num' }, (Bank.isNegative(e.amount) ? '' : '+') + amount(e.amount)),
          el('td', { class: 'num' }, amount(e.balance)),
        ]),
      );
      return el('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': 'lookup-recent-caption', tabindex: '0' }, [
        el('table', { id: 'lookup-history' }, [
          el('caption', { id: 'lookup-recent-caption', text: 'Recent movements (' + currency + ')' }),
          el('thead', {}, el('tr', {}, [
            el('th', { scope: 'col', text: 'Date' }),
            el('th', { scope: 'col', text: 'What' }),
            el('th', { scope: 'col', class: 'num', text: 'Amount' }),
            el('th', { scope: 'col', class: 'num', text: 'Balance' }),
          ])),
          el('tbody', {}, rows),
        ]),
      ]);
    } catch (e) {
      return el('p', { class: 'error', text: 'Movements: ' + describe(e) });
    }
  }

  async function lookUpAccount(number) {
    const { data: a } = await api('GET', '/v1/accounts/' + encodeURIComponent(number));
    const recent = await recentMovements(a.account, a.currency);
    return el('div', { id: 'lookup-account-view' }, [
      el('h3', { text: 'Account ' + a.account }),
      accountView(a, 'lookup'),
      recent,
    ]);
  }

  async function lookUpCustomer(id) {
    const { data: c } = await api('GET', '/v1/customers/' + encodeURIComponent(id));
    const accounts = await Promise.all(
      (c.accounts || []).map((n) =>
        api('GET', '/v1/accounts/' + encodeURIComponent(n))
          .then((r) => r.data)
          .catch((e) => ({ account: n, error: describe(e) })),
      ),
    );
    const rows = accounts.map((a) =>
      a.error
        ? el('tr', {}, [el('td', { class: 'mono', text: a.account }), el('td', { colspan: '3', text: a.error })])
        : el('tr', { dataset: { account: a.account } }, [
            el('td', { class: 'mono nowrap', text: a.account }),
            el('td', {}, [Bank.words(a.type), ' ', statusBadge(a.status)]),
            el('td', { class: 'num', dataset: { amount: a.balance } }, money(a.balance, a.currency)),
            el('td', { class: 'num' }, money(a.available, a.currency)),
          ]),
    );
    const view = el('div', { id: 'lookup-customer-view' }, [
      el('h3', { text: c.name + ' (' + c.customer + ')' }),
      facts([
        ['Customer ID', c.customer, 'lookup-customer-id'],
        ['Email', c.email, 'lookup-email'],
        ['Phone', c.phone, 'lookup-phone'],
        ['Age', String(c.age), 'lookup-age'],
        ['Cards', (c.cards || []).length ? (c.cards || []).map(String).join(', ') : 'None', 'lookup-cards'],
      ]),
    ]);
    if (rows.length) {
      view.append(
        el('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': 'lookup-accounts-caption', tabindex: '0' }, [
          el('table', { id: 'lookup-accounts' }, [
            el('caption', { id: 'lookup-accounts-caption', text: 'Accounts' }),
            el('thead', {}, el('tr', {}, [
              el('th', { scope: 'col', text: 'Account' }),
              el('th', { scope: 'col', text: 'Type' }),
              el('th', { scope: 'col', class: 'num', text: 'Balance' }),
              el('th', { scope: 'col', class: 'num', text: 'Available' }),
            ])),
            el('tbody', {}, rows),
          ]),
        ]),
      );
    } else {
      view.append(el('p', { class: 'muted', text: 'No accounts.' }));
    }
    return view;
  }

  Bank.submitOnce($('lookup-form'), 'lookup-error', async () => {
    showResult('lookup-result', '');
    const q = value('lookup-query');
    const view = /^c/i.test(q) ? await lookUpCustomer(q.toUpperCase()) : await lookUpAccount(q);
    showResult('lookup-result', view);
  });

  // MARK: Cash

  function cashForm(kind) {
    const path = kind === 'deposit' ? 'deposits' : 'withdrawals';
    Bank.submitOnce($(kind + '-form'), kind + '-error', async () => {
      showResult(kind + '-result', '');
      const number = value(kind + '-account');
      const body = { amount: value(kind + '-amount') };
      const memo = value(kind + '-memo');
      if (memo) body.memo = memo;
      const { data: r } = await api('POST', '/v1/accounts/' + encodeURIComponent(number) + '/' + path, {
        body,
        key: keys[kind],
      });
      renew(kind);
      const balance = kind === 'deposit' ? r.to_balance : r.from_balance;
      const account = kind === 'deposit' ? r.to : r.from;
      const verb = kind === 'deposit' ? 'Deposited ' : 'Paid out ';
      showResult(
        kind + '-result',
        el('p', { id: kind + '-receipt', dataset: { transfer: r.transfer, balance } }, [
          (r.replayed ? 'Already done; nothing booked twice. ' : '') +
            verb +
            money(r.amount, r.currency) +
            (kind === 'deposit' ? ' to ' : ' from ') +
            account +
            '. New balance: ',
          el('strong', { id: kind + '-balance', text: money(balance, r.currency) }),
          '.',
          el('span', { class: 'memo', text: 'Reference ' + r.transfer }),
        ]),
      );
      $(kind + '-amount').value = '';
      $(kind + '-memo').value = '';
    });
  }
  cashForm('deposit');
  cashForm('withdraw');

  // MARK: Register a customer

  Bank.submitOnce($('register-form'), 'register-error', async () => {
    showResult('register-result', '');
    const body = {
      name: value('register-name'),
      email: value('register-email'),
      phone: value('register-phone'),
      age: Number.parseInt(value('register-age'), 10),
      type: $('register-type').value,
      currency: $('register-currency').value,
      password: $('register-password').value,
    };
    const gender = value('register-gender');
    if (gender) body.gender = gender;
    const { data: c } = await api('POST', '/v1/customers', { body, key: keys.register });
    renew('register');
    const account = (c.accounts || [])[0] || '';
    showResult(
      'register-result',
      el('p', {}, [
        'Registered ' + c.name + ' as customer ',
        el('strong', { id: 'register-customer-id', class: 'mono', text: c.customer }),
        account ? ' with account ' : ' (no account).',
        account ? el('strong', { id: 'register-account', class: 'mono', text: account }) : null,
        account ? '. Give the customer their ID; they log in with the password you set.' : null,
      ]),
    );
    $('register-form').reset();
    $('register-currency').value = 'USD';
    // Ready for the next step at the desk.
    if (!value('open-customer')) $('open-customer').value = c.customer;
    if (account && !value('deposit-account')) $('deposit-account').value = account;
  });

  // MARK: Open an account

  Bank.submitOnce($('open-form'), 'open-error', async () => {
    showResult('open-result', '');
    const customer = value('open-customer').toUpperCase();
    const name = value('open-name');
    if (!customer && !name) {
      $('open-customer').setAttribute('aria-invalid', 'true');
      $('open-customer').focus();
      throw new Bank.ApiError(0, 'local', 'Give the customer who owns the account, or a name for the account.');
    }
    const body = { type: $('open-type').value, currency: $('open-currency').value };
    if (customer) body.customer = customer;
    if (name) body.name = name;
    const overdraft = value('open-overdraft');
    if (overdraft) body.overdraft = overdraft;
    const { data: a } = await api('POST', '/v1/accounts', { body, key: keys.open });
    renew('open');
    showResult(
      'open-result',
      el('div', {}, [
        el('p', {}, [
          'Opened ' + a.type + ' account ',
          el('strong', { id: 'open-account-number', class: 'mono', text: a.account }),
          ' in ' + a.currency + (customer ? ' for ' + customer : '') + ' (' + a.name + ').',
        ]),
        accountView(a, 'open'),
      ]),
    );
    $('open-name').value = '';
    $('open-overdraft').value = '';
  });

  // MARK: Session

  Bank.page({
    loginKind: 'staff',
    roles: ['teller', 'manager'],
    wrongRoleText: 'The teller desk is for tellers and managers.',
    onStart() {
      freshKeys();
    },
    onStop() {
      for (const form of ['lookup', 'deposit', 'withdraw', 'register', 'open']) {
        $(form + '-form').reset();
        showError(form + '-error', '');
      }
      for (const r of ['lookup-result', 'deposit-result', 'withdraw-result', 'register-result', 'open-result']) {
        showResult(r, '');
      }
      for (const select of document.querySelectorAll('.currency-select')) select.value = 'USD';
    },
  });
});
