"""Mail: messages composed from templates, queued in the outbox, delivered over SMTP (or to the log).

`Mailer.queue(session, to=…, template=…, context=…)` renders the message
(Jinja2: `<template>.subject.txt`, `<template>.txt`, `<template>.html`, each
overridable from `AUTHGATE_EMAIL_TEMPLATES_DIR`) and queues it in the
caller's transaction. `SmtpDeliverer` sends it (AUTHGATE_SMTP_URL);
without one, `LogDeliverer` writes it to the server log in full.
"""
