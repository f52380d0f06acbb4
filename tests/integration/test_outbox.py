

def test_a_name_with_a_header_injection_stays_in_the_body(backend: str, mail_services: Services, smtp: SmtpServer,
                                                         clock: FakeClock) -> None:
    queue(mail_services, name="Ada\r\nBcc: victim@example.com\r\nSubject: owned")
    sender(mail_services, clock).run_once()
    [received] = smtp.mailbox.messages
    assert received["Bcc"] is None and received["Subject"] == "Reset your Coffee Co password"
    assert received.get_all("Subject") == ["Reset your Coffee Co password"]
