// The customer page: balances, history with paging, and transfers. A transfer's
// Idempotency-Key is made when the form is shown and after each success — never per click — so
// a double click or a retry after a lost answer pays once.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, $, el, money, amount, describe, showError, showResult } = Bank;
  const PAGE_SIZE = 10;

  let principal = null;
  let accounts = []; // account objects, in the customer's order
  let transferKey = null;
  let generation = 0; // bumped at each login and logout: late answers of another session are dropped
  // History: the cursors of the pages seen (null is the newest page) and where we are.
  const history = { account: null, cursors: [null], index: 0, next: null, loading: null };

  // MARK: Accounts

  async function loadAccounts() {
    const mine = generation;
    showError('accounts-error', '');
    const list = $('account-list');
    list.setAttribute('aria-busy', 'true');
    try {
      const { data: customer } = await api('GET', '/v1/customers/' + encodeURIComponent(principal));
      $('customer-title').textContent = customer.name ? customer.name + ' — my accounts' : 'My accounts';
      const loaded = await Promise.all(
        (customer.accounts || []).map((n) =>
          api('GET', '/v1/accounts/' + encodeURIComponent(n)).then((r) => r.data),
        ),
      );
      if (mine !== generation) return;
      accounts = loaded;
      renderAccounts();
      fillSelects();
      $('customer-status').textContent = 'Balances updated ' + new Date().toLocaleTimeString() + '.';
    } catch (e) {
      if (mine === generation) showError('accounts-error', describe(e));
    } finally {
      list.setAttribute('aria-busy', 'false');
    }
  }

  function renderAccounts() {
    const list = $('account-list');
    list.replaceChildren();
    if (accounts.length === 0) {
      list.append(el('li', { class: 'muted', text: 'You have no accounts yet.' }));
      return;
    }
    for (const a of accounts) {
      const facts = el('dl', { class: 'facts' }, [
        el('dt', { text: 'Available' }),
        el('dd', { id: 'available-' + a.account, dataset: { amount: a.available } }, money(a.available, a.currency)),
      ]);
      if (a.pending && !/^-?0*(\.0*)?$/.test(a.pending)) {
        facts.append(el('dt', { text: 'Pending' }), el('dd', {}, money(a.pending, a.currency)));
      }
      if (a.overdraft_limit && !/^0*(\.0*)?$/.test(a.overdraft_limit)) {
        facts.append(el('dt', { text: 'Overdraft limit' }), el('dd', {}, money(a.overdraft_limit, a.currency)));
      }
      facts.append(
        el('dt', { text: 'Status' }),
        el('dd', {}, el('span', { class: 'badge ' + (a.status === 'active' ? 'ok' : 'bad'), text: Bank.words(a.status) })),
      );
      const show = el('button', { type: 'button', class: 'secondary', dataset: { account: a.account } }, 'Show history');
      show.setAttribute('aria-label', 'Show history of ' + a.account);
      show.addEventListener('click', () => {
        $('history-account').value = a.account;
        openHistory(a.account);
        $('history-title').focus();
      });
      list.append(
        el('li', { class: 'account', id: 'account-' + a.account, dataset: { account: a.account } }, [
          el('h3', {}, [Bank.words(a.type) + ' ', el('span', { class: 'mono', text: a.account })]),
          el('p', { class: 'balance' }, [
            el('span', { class: 'visually-hidden', text: 'Balance: ' }),
            el('span', { id: 'balance-' + a.account, dataset: { amount: a.balance }, text: amount(a.balance) }),
            ' ',
            el('span', { class: 'currency', text: a.currency }),
          ]),
          facts,
          show,
        ]),
      );
    }
  }

  function fillSelects() {
    const label = (a) => a.account + ' · ' + Bank.words(a.type) + ' · ' + money(a.balance, a.currency);
    for (const id of ['transfer-from', 'history-account']) {
      const select = $(id);
      const previous = select.value;
      select.replaceChildren(...accounts.map((a) => el('option', { value: a.account }, label(a))));
      if (accounts.some((a) => a.account === previous)) select.value = previous;
    }
    $('own-accounts').replaceChildren(
      ...accounts.map((a) => el('option', { value: a.account }, Bank.words(a.type) + ' ' + a.account)),
    );
    const chosen = $('history-account').value;
    if (chosen && chosen !== history.account) openHistory(chosen);
  }

  // MARK: History

  function openHistory(account) {
    history.account = account;
    history.cursors = [null];
    history.index = 0;
    loadHistory();
  }

  async function loadHistory() {
    const account = history.account;
    if (!account) return;
    const cursor = history.cursors[history.index];
    showError('history-error', '');
    const controller = new AbortController();
    if (history.loading) history.loading.abort();
    history.loading = controller;
    $('history-table').setAttribute('aria-busy', 'true');
    let query = '?limit=' + PAGE_SIZE;
    if (cursor) query += '&before=' + encodeURIComponent(cursor);
    try {
      const { data } = await api('GET', '/v1/accounts/' + encodeURIComponent(account) + '/history' + query, {
        signal: controller.signal,
      });
      if (history.account !== account) return;
      history.next = data.next || null;
      renderHistory(data.entries || [], account);
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      showError('history-error', describe(e));
    } finally {
      if (history.loading === controller) {
        history.loading = null;
        $('history-table').setAttribute('aria-busy', 'false');
        const focused = document.activeElement;
        $('history-newer').disabled = history.index === 0;
        $('history-older').disabled = !history.next;
        // At the first or last page the pressed button turns off: keep the focus on the pager.
        if (focused && focused.disabled) {
          const other = focused.id === 'history-older' ? $('history-newer') : $('history-older');
          (other.disabled ? $('history-title') : other).focus();
        }
      }
    }
  }

  function renderHistory(entries, account) {
    const currency = (accounts.find((a) => a.account === account) || {}).currency || '';
    const rows = $('history-rows');
    rows.replaceChildren();
    if (entries.length === 0) {
      rows.append(el('tr', {}, el('td', { colspan: '4', class: 'muted', text: 'No movements on this page.' })));
    }
    for (const e of entries) {
      const incoming = !Bank.isNegative(e.amount);
      const what = [el('span', { class: 'date-inline' }, Bank.timeElement(e.time)), el('span', { text: Bank.words(e.kind) })];
      if (e.counterparty) what.push(el('span', { class: 'memo' }, (incoming ? 'from ' : 'to ') + e.counterparty));
      if (e.memo) what.push(el('span', { class: 'memo', text: e.memo }));
      rows.append(
        el('tr', { dataset: { transfer: e.transfer, amount: e.amount } }, [
          el('td', { class: 'nowrap col-date' }, Bank.timeElement(e.time)),
          el('td', {}, what),
          el('td', { class: 'num ' + (incoming ? 'amount-in' : 'amount-out') }, (incoming ? '+' : '') + amount(e.amount)),
          el('td', { class: 'num' }, amount(e.balance)),
        ]),
      );
    }
    const first = history.index * PAGE_SIZE + 1;
    const last = history.index * PAGE_SIZE + entries.length;
    $('history-position').textContent =
      entries.length === 0
        ? 'Page ' + (history.index + 1)
        : 'Page ' + (history.index + 1) + ' · movements ' + first + '–' + last + (currency ? ' · ' + currency : '');
  }

  $('history-account').addEventListener('change', (event) => openHistory(event.target.value));
  $('history-older').addEventListener('click', () => {
    if (!history.next || history.loading) return;
    history.cursors = history.cursors.slice(0, history.index + 1);
    history.cursors.push(history.next);
    history.index += 1;
    loadHistory();
  });
  $('history-newer').addEventListener('click', () => {
    if (history.index === 0 || history.loading) return;
    history.index -= 1;
    loadHistory();
  });

  // MARK: Transfers

  Bank.submitOnce($('transfer-form'), 'transfer-error', async () => {
    showResult('transfer-result', '');
    const body = {
      from: $('transfer-from').value,
      to: $('transfer-to').value.trim(),
      amount: $('transfer-amount').value.trim(),
    };
    const memo = $('transfer-memo').value.trim();
    if (memo) body.memo = memo;
    // The same key until this transfer succeeds: a retry of a lost answer replays, never pays twice.
    const { data: r } = await api('POST', '/v1/transfers', { body, key: transferKey });
    transferKey = Bank.newKey();
    $('transfer-form').dataset.key = transferKey;
    const text =
      (r.replayed ? 'This transfer was already made; no money moved twice. ' : 'Sent ') +
      money(r.amount, r.currency) +
      ' from ' +
      r.from +
      ' to ' +
      r.to +
      '. ' +
      'The balance of ' +
      r.from +
      ' is now ' +
      money(r.from_balance, r.currency) +
      '.';
    showResult(
      'transfer-result',
      el('p', { id: 'transfer-receipt', dataset: { transfer: r.transfer } }, [
        text,
        el('span', { class: 'memo' }, 'Reference ' + r.transfer),
      ]),
    );
    $('transfer-amount').value = '';
    $('transfer-memo').value = '';
    await loadAccounts();
    history.cursors = [null];
    history.index = 0;
    await loadHistory();
  });

  $('accounts-refresh').addEventListener('click', async () => {
    await loadAccounts();
    await loadHistory();
  });

  // MARK: Session

  Bank.page({
    loginKind: 'customer',
    roles: ['customer'],
    wrongRoleText: 'This page is for customers.',
    onStart(session) {
      generation += 1;
      principal = session.principal;
      transferKey = Bank.newKey();
      $('transfer-form').dataset.key = transferKey;
      history.account = null;
      loadAccounts();
    },
    onStop() {
      generation += 1;
      principal = null;
      accounts = [];
      transferKey = null;
      if (history.loading) history.loading.abort();
      history.account = null;
      $('account-list').replaceChildren();
      $('history-rows').replaceChildren();
      $('history-position').textContent = '';
      $('transfer-form').reset();
      showResult('transfer-result', '');
      showError('transfer-error', '');
      showError('accounts-error', '');
      showError('history-error', '');
      $('customer-status').textContent = '';
    },
  });
});
