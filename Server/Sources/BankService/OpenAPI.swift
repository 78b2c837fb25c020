/// The OpenAPI 3.1 document `GET /openapi.yaml` serves: the source of truth for every route,
/// body, status and error of bankd (DESIGN.md 6).
enum OpenAPI {
  static let yaml = #"""
    openapi: 3.1.0
    info:
      title: bankd
      version: "1"
      description: >-
        BankCore as a service. Amounts are decimal strings in the account's currency
        ("12.30"); account numbers look like 1000-0001-7; customer IDs like C000001. Every
        error is {"error":{"code","message"}} with a stable snake_case code.
    servers:
      - url: /
    components:
      securitySchemes:
        bearer:
          type: http
          scheme: bearer
        terminal:
          type: apiKey
          in: header
          name: Authorization
          description: "Terminal KEY: the key bankctl atm register printed for the terminal of the path."
      parameters:
        Number:
          name: number
          in: path
          required: true
          schema: {type: string, pattern: '^[0-9]{4}-[0-9]{4}-[0-9]$'}
        IdempotencyKey:
          name: Idempotency-Key
          in: header
          required: false
          description: As bankctl's --id; scoped to the principal that sends it.
          schema: {type: string, pattern: '^[A-Za-z0-9._:-]{1,64}$'}
      schemas:
        Amount: {type: string, pattern: '^[0-9]+(\.[0-9]+)?$'}
        SignedAmount: {type: string, pattern: '^-?[0-9]+(\.[0-9]+)?$'}
        Error:
          type: object
          required: [error]
          properties:
            error:
              type: object
              required: [code, message]
              properties:
                code: {type: string}
                message: {type: string}
        Ok:
          type: object
          required: [ok]
          properties: {ok: {type: boolean}}
        Session:
          type: object
          required: [session, principal, role, expires_at]
          properties:
            session: {type: string}
            principal: {type: string}
            role: {type: string, enum: [customer, teller, manager, auditor, operator]}
            expires_at: {type: string}
        Account:
          type: object
          required: [account, name, type, currency, status, balance, available, pending, overdraft_limit]
          properties:
            account: {type: string}
            name: {type: string}
            type: {type: string}
            currency: {type: string}
            status: {type: string, enum: [active, frozen, closed]}
            balance: {$ref: '#/components/schemas/SignedAmount'}
            available: {$ref: '#/components/schemas/SignedAmount'}
            pending: {$ref: '#/components/schemas/SignedAmount'}
            overdraft_limit: {$ref: '#/components/schemas/Amount'}
            over_limit: {type: boolean}
        HistoryEntry:
          type: object
          required: [transfer, time, kind, amount, balance, memo, counterparty]
          properties:
            transfer: {type: string}
            time: {type: string}
            kind: {type: string}
            amount: {$ref: '#/components/schemas/SignedAmount'}
            balance: {$ref: '#/components/schemas/SignedAmount'}
            memo: {type: string}
            counterparty: {type: string}
            by: {type: string}
            role: {type: string}
            channel: {type: string}
        History:
          type: object
          required: [account, entries, next]
          properties:
            account: {type: string}
            entries: {type: array, items: {$ref: '#/components/schemas/HistoryEntry'}}
            next: {type: [string, 'null']}
        Receipt:
          type: object
          required: [transfer, from, to, amount, currency, from_balance, to_balance, replayed]
          properties:
            transfer: {type: string}
            from: {type: string}
            to: {type: string}
            amount: {$ref: '#/components/schemas/Amount'}
            currency: {type: string}
            from_balance: {$ref: '#/components/schemas/SignedAmount'}
            to_balance: {oneOf: [{$ref: '#/components/schemas/SignedAmount'}, {type: 'null'}]}
            replayed: {type: boolean}
        Customer:
          type: object
          required: [customer, name, email, phone, age, gender, accounts]
          properties:
            customer: {type: string}
            name: {type: string}
            email: {type: string}
            phone: {type: string}
            age: {type: integer}
            gender: {type: string}
            accounts: {type: array, items: {type: string}}
            cards: {type: array, items: {type: object}}
        Statement:
          type: object
          required: [account, from, to, opening_balance, entries, total_in, total_out, closing_balance]
          properties:
            account: {type: string}
            name: {type: string}
            currency: {type: string}
            from: {type: string}
            to: {type: string}
            opening_balance: {$ref: '#/components/schemas/SignedAmount'}
            entries:
              type: array
              items:
                type: object
                required: [transfer, time, description, amount, balance]
                properties:
                  transfer: {type: string}
                  time: {type: string}
                  description: {type: string}
                  amount: {$ref: '#/components/schemas/SignedAmount'}
                  balance: {$ref: '#/components/schemas/SignedAmount'}
                  kind: {type: string}
                  counterparty: {type: string}
            total_in: {$ref: '#/components/schemas/Amount'}
            total_out: {$ref: '#/components/schemas/Amount'}
            closing_balance: {$ref: '#/components/schemas/SignedAmount'}
        Terminal:
          type: object
          required: [terminal, in_service, currency, cash, cassettes]
          properties:
            terminal: {type: string}
            in_service: {type: boolean}
            currency: {type: string}
            cash: {$ref: '#/components/schemas/Amount'}
            cassettes: {type: array, items: {type: object}}
        Notes:
          type: array
          items:
            type: object
            required: [denomination, count]
            properties:
              denomination: {$ref: '#/components/schemas/Amount'}
              count: {type: integer, minimum: 1}
        PendingWithdrawal:
          type: object
          required: [hold, amount, notes]
          properties:
            hold: {type: integer, minimum: 1}
            amount: {$ref: '#/components/schemas/Amount'}
            notes: {$ref: '#/components/schemas/Notes'}
        Cardholder:
          type: object
          additionalProperties: false
          required: [card, pin]
          properties:
            card: {type: string, description: The card's 16-digit PAN}
            pin: {type: string, description: 4 to 12 digits; only over TLS or loopback, never logged}
            account: {type: string, description: A linked account (default the card's first)}
        MoneyRequest:
          type: object
          additionalProperties: false
          required: [amount]
          properties:
            amount: {$ref: '#/components/schemas/Amount'}
            memo: {type: string, maxLength: 200}
      responses:
        BadRequest: {description: Invalid input, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        Unauthorized: {description: No or bad session, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        Forbidden: {description: Not allowed (for a customer also an unknown account), content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        NotFound: {description: Unknown account or customer (staff), content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        Conflict: {description: An Idempotency-Key reused with other fields, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        TooLarge: {description: Body over 64 KiB, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        Refused: {description: Refused by a banking rule, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        TooMany: {description: Too many attempts, headers: {Retry-After: {schema: {type: integer}}}, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        Unavailable: {description: Store unavailable, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
    security:
      - bearer: []
    paths:
      /v1/sessions:
        post:
          summary: Log in
          security: []
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  additionalProperties: false
                  required: [password]
                  properties:
                    customer: {type: string}
                    staff: {type: string}
                    password: {type: string}
          responses:
            '201': {description: A session, content: {application/json: {schema: {$ref: '#/components/schemas/Session'}}}}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '413': {$ref: '#/components/responses/TooLarge'}
            '429': {$ref: '#/components/responses/TooMany'}
            '503': {$ref: '#/components/responses/Unavailable'}
      /v1/sessions/current:
        delete:
          summary: Log out
          responses:
            '200': {description: Logged out, content: {application/json: {schema: {$ref: '#/components/schemas/Ok'}}}}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '503': {$ref: '#/components/responses/Unavailable'}
      /v1/accounts:
        post:
          summary: Open an account
          parameters: [{$ref: '#/components/parameters/IdempotencyKey'}]
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  additionalProperties: false
                  properties:
                    name: {type: string}
                    type: {type: string, enum: [checking, savings]}
                    currency: {type: string}
                    overdraft: {$ref: '#/components/schemas/Amount'}
                    customer: {type: string}
          responses:
            '201': {description: The account, content: {application/json: {schema: {$ref: '#/components/schemas/Account'}}}}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '404': {$ref: '#/components/responses/NotFound'}
            '409': {$ref: '#/components/responses/Conflict'}
            '413': {$ref: '#/components/responses/TooLarge'}
            '422': {$ref: '#/components/responses/Refused'}
            '503': {$ref: '#/components/responses/Unavailable'}
      /v1/accounts/{number}:
        get:
          summary: An account's balance
          parameters: [{$ref: '#/components/parameters/Number'}]
          responses:
            '200': {description: The account, content: {application/json: {schema: {$ref: '#/components/schemas/Account'}}}}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '404': {$ref: '#/components/responses/NotFound'}
            '503': {$ref: '#/components/responses/Unavailable'}
      /v1/accounts/{number}/history:
        get:
          summary: An account's movements, newest first
          parameters:
            - {$ref: '#/components/parameters/Number'}
            - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000}}
            - {name: before, in: query, schema: {type: string}}
          responses:
            '200': {description: A page, content: {application/json: {schema: {$ref: '#/components/schemas/History'}}}}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '404': {$ref: '#/components/responses/NotFound'}
            '503': {$ref: '#/components/responses/Unavailable'}
      /v1/accounts/{number}/statement:
        get:
          summary: One month's statement
          parameters:
            - {$ref: '#/components/parameters/Number'}
            - {name: month, in: query, required: true, schema: {type: string, pattern: '^[0-9]{4}-[0-9]{2}$'}}
          responses:
            '200': {description: The statement, content: {application/json: {schema: {$ref: '#/components/schemas/Statement'}}}}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '404': {$ref: '#/components/responses/NotFound'}
            '422': {$ref: '#/components/responses/Refused'}
            '503': {$ref: '#/components/responses/Unavailable'}
      /v1/accounts/{number}/deposits:
        post:
          summary: Cash in
          parameters: [{$ref: '#/components/parameters/Number'}, {$ref: '#/components/parameters/IdempotencyKey'}]
          requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/MoneyRequest'}}}}
          responses: &money
            '200': {description: A retry of a keyed request, content: {application/json: {schema: {$ref: '#/components/schemas/Receipt'}}}}
            '201': {description: Done, content: {application/json: {schema: {$ref: '#/components/schemas/Receipt'}}}}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '404': {$ref: '#/components/responses/NotFound'}
            '409': {$ref: '#/components/responses/Conflict'}
            '413': {$ref: '#/components/responses/TooLarge'}
            '422': {$ref: '#/components/responses/Refused'}
            '503': {$ref: '#/components/responses/Unavailable'}
      /v1/accounts/{number}/withdrawals:
        post:
          summary: Cash out
          parameters: [{$ref: '#/components/parameters/Number'}, {$ref: '#/components/parameters/IdempotencyKey'}]
          requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/MoneyRequest'}}}}
          responses: *money
      /v1/transfers:
        post:
          summary: Move money between two accounts
          parameters: [{$ref: '#/components/parameters/IdempotencyKey'}]
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  additionalProperties: false
                  required: [from, to, amount]
                  properties:
                    from: {type: string}
                    to: {type: string}
                    amount: {$ref: '#/components/schemas/Amount'}
                    memo: {type: string, maxLength: 200}
          responses: *money
      /v1/customers:
        post:
          summary: Register a customer (staff)
          parameters: [{$ref: '#/components/parameters/IdempotencyKey'}]
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  additionalProperties: false
                  required: [name, email, phone, age, password]
                  properties:
                    name: {type: string}
                    email: {type: string}
                    phone: {type: string}
                    age: {type: integer}
                    gender: {type: string}
                    type: {type: string, enum: [checking, savings]}
                    currency: {type: string}
                    password: {type: string}
          responses:
            '201': {description: The customer, content: {application/json: {schema: {$ref: '#/components/schemas/Customer'}}}}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '409': {$ref: '#/components/responses/Conflict'}
            '413': {$ref: '#/components/responses/TooLarge'}
            '422': {$ref: '#/components/responses/Refused'}
            '503': {$ref: '#/components/responses/Unavailable'}
      /v1/customers/{id}:
        get:
          summary: A customer's details
          parameters: [{name: id, in: path, required: true, schema: {type: string}}]
          responses:
            '200': {description: The customer, content: {application/json: {schema: {$ref: '#/components/schemas/Customer'}}}}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '404': {$ref: '#/components/responses/NotFound'}
            '503': {$ref: '#/components/responses/Unavailable'}
      /v1/password/forgot:
        post:
          summary: A password-reset token for matching details
          security: []
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  additionalProperties: false
                  required: [account, email, phone]
                  properties:
                    account: {type: string}
                    email: {type: string}
                    phone: {type: string}
          responses:
            '200':
              description: The token, shown once
              content:
                application/json:
                  schema:
                    type: object
                    required: [reset_token, expires_at]
                    properties: {reset_token: {type: string}, expires_at: {type: string}}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '413': {$ref: '#/components/responses/TooLarge'}
            '422': {$ref: '#/components/responses/Refused'}
            '429': {$ref: '#/components/responses/TooMany'}
            '503': {$ref: '#/components/responses/Unavailable'}
      /v1/password/reset:
        post:
          summary: A new password with a reset token
          security: []
          parameters: [{$ref: '#/components/parameters/IdempotencyKey'}]
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  additionalProperties: false
                  required: [token, password]
                  properties: {token: {type: string}, password: {type: string}}
          responses:
            '200': {description: Done, content: {application/json: {schema: {$ref: '#/components/schemas/Ok'}}}}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '409': {$ref: '#/components/responses/Conflict'}
            '413': {$ref: '#/components/responses/TooLarge'}
            '422': {$ref: '#/components/responses/Refused'}
            '429': {$ref: '#/components/responses/TooMany'}
            '503': {$ref: '#/components/responses/Unavailable'}
      /v1/events:
        get:
          summary: Committed ATM events as Server-Sent Events (staff who may read events)
          description: >-
            Each event is `id: SEQ`, `event: TYPE`, `data: {"event","time","terminal","type","detail"}`.
            Resume with the Last-Event-ID header (or since=SEQ).
          parameters:
            - {name: since, in: query, schema: {type: integer, minimum: 0}}
            - {name: Last-Event-ID, in: header, schema: {type: string}}
          responses:
            '200': {description: The stream, content: {text/event-stream: {schema: {type: string}}}}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '503': {$ref: '#/components/responses/Unavailable'}
      /v1/atms:
        get:
          summary: Every terminal (staff)
          responses:
            '200':
              description: The fleet
              content:
                application/json:
                  schema:
                    type: object
                    required: [terminals]
                    properties: {terminals: {type: array, items: {$ref: '#/components/schemas/Terminal'}}}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '503': {$ref: '#/components/responses/Unavailable'}
      /v1/atms/{id}:
        get:
          summary: One terminal (staff)
          parameters: [{name: id, in: path, required: true, schema: {type: string}}]
          responses:
            '200': {description: The terminal, content: {application/json: {schema: {$ref: '#/components/schemas/Terminal'}}}}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '404': {$ref: '#/components/responses/NotFound'}
            '503': {$ref: '#/components/responses/Unavailable'}
      /v1/terminals/{id}/withdrawals:
        post:
          summary: A remote terminal's withdrawal, first step (card, PIN, limits, hold; the notes to pay)
          security: [{terminal: []}]
          parameters: [{name: id, in: path, required: true, schema: {type: string}}]
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  additionalProperties: false
                  required: [card, pin, amount]
                  properties:
                    card: {type: string}
                    pin: {type: string}
                    amount: {$ref: '#/components/schemas/Amount'}
                    account: {type: string}
          responses:
            '201': {description: Authorised and held, content: {application/json: {schema: {$ref: '#/components/schemas/PendingWithdrawal'}}}}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '404': {$ref: '#/components/responses/NotFound'}
            '413': {$ref: '#/components/responses/TooLarge'}
            '422': {$ref: '#/components/responses/Refused'}
            '503': {$ref: '#/components/responses/Unavailable'}
      /v1/terminals/{id}/withdrawals/{hold}/complete:
        post:
          summary: A remote terminal's withdrawal, second step (the notes taken, or not)
          security: [{terminal: []}]
          parameters:
            - {name: id, in: path, required: true, schema: {type: string}}
            - {name: hold, in: path, required: true, schema: {type: integer, minimum: 1}}
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  additionalProperties: false
                  required: [taken]
                  properties: {taken: {type: boolean}}
          responses:
            '200': {description: Posted or voided; the account after, content: {application/json: {schema: {$ref: '#/components/schemas/Account'}}}}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '404': {$ref: '#/components/responses/NotFound'}
            '413': {$ref: '#/components/responses/TooLarge'}
            '422': {$ref: '#/components/responses/Refused'}
            '503': {$ref: '#/components/responses/Unavailable'}
      /v1/terminals/{id}/balance-inquiries:
        post:
          summary: A remote terminal's balance inquiry (card and PIN)
          security: [{terminal: []}]
          parameters: [{name: id, in: path, required: true, schema: {type: string}}]
          requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/Cardholder'}}}}
          responses:
            '200': {description: The account, content: {application/json: {schema: {$ref: '#/components/schemas/Account'}}}}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '404': {$ref: '#/components/responses/NotFound'}
            '413': {$ref: '#/components/responses/TooLarge'}
            '422': {$ref: '#/components/responses/Refused'}
            '503': {$ref: '#/components/responses/Unavailable'}
      /metrics:
        get:
          summary: Prometheus metrics
          security: []
          responses:
            '200': {description: The text format, content: {text/plain: {schema: {type: string}}}}
      /openapi.yaml:
        get:
          summary: This document
          security: []
          responses:
            '200': {description: OpenAPI 3.1, content: {application/yaml: {schema: {type: string}}}}
      /:
        get:
          summary: The web UI
          security: []
          responses:
            '200': {description: The landing page, content: {text/html: {schema: {type: string}}}}
      /healthz:
        get:
          summary: Alive
          security: []
          responses:
            '200': {description: Alive, content: {application/json: {schema: {$ref: '#/components/schemas/Ok'}}}}
      /readyz:
        get:
          summary: Serving
          security: []
          responses:
            '200': {description: Ready, content: {application/json: {schema: {$ref: '#/components/schemas/Ok'}}}}
            '503': {$ref: '#/components/responses/Unavailable'}
    """#
}
