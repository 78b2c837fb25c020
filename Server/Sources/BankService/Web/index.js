// The landing page: log in as a customer or a member of staff, then go to the page of the role.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  Bank.page({
    loginKind: 'customer',
    roles: null,
    onStart(session, fresh) {
      if (fresh) {
        window.location.assign(Bank.homeFor(session.role));
        return;
      }
      Bank.$('home-text').textContent =
        'You are logged in as ' + session.principal + ' (' + session.role + '). Choose a page:';
    },
  });
});
