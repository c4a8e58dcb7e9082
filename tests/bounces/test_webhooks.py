"""The webhooks of Amazon SES (through SNS) and Postmark: a request the provider did not send
is refused (401) and hands nothing on; a genuine one becomes reports.

SNS messages are signed here the documented way with a test RSA key, whose certificate the
fake fetch serves at an SNS URL; the check of the certificate's host stays the real one."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alumni.bounces import providers
from alumni.bounces.providers import ProviderUnreachable, postmark, ses, verp_tag
from alumni.bounces.reports import Report, ReportKind
from alumni.config import parse_host_pattern
from alumni.extensions import db
from alumni.models import AuditEntry

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "webhooks"
SES_URL = "/api/v1/bounces/ses"
POSTMARK_URL = "/api/v1/bounces/postmark"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:alumni-ses"
CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
SNS_TEXT = "text/plain; charset=UTF-8"  # what SNS really sends
POSTMARK_USER, POSTMARK_PASSWORD = "postmark", "correct horse battery staple"
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
# The fields SNS signs, in its documented order (written out here, not taken from the code).
NOTIFICATION_FIELDS = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CONFIRMATION_FIELDS = [
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
]


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())


# -- a test key, its certificate, and SNS messages signed with it ------------------------------


def make_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_certificate(key: rsa.RSAPrivateKey, *, valid_for: timedelta = timedelta(days=1)) -> bytes:
    """A self-signed certificate, like the one SNS serves at SigningCertURL."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + valid_for)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


KEY = make_key()
OTHER_KEY = make_key()
CERTIFICATE = make_certificate(KEY)


def sign(message: dict[str, Any], *, version: str = "1", key: rsa.RSAPrivateKey = KEY) -> dict:
    """``message`` with SignatureVersion, SigningCertURL and Signature, as SNS signs it: the
    documented fields of its type in order, each as ``name\\nvalue\\n``."""
    fields = NOTIFICATION_FIELDS if message["Type"] == "Notification" else CONFIRMATION_FIELDS
    text = "".join(f"{name}\n{message[name]}\n" for name in fields if name in message)
    signature = key.sign(text.encode(), padding.PKCS1v15(), HASHES[version]())
    return {
        **message,
        "SignatureVersion": version,
        "SigningCertURL": message.get("SigningCertURL", CERT_URL),
        "Signature": base64.b64encode(signature).decode(),
    }


def notification(ses_message: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """An SNS Notification that carries an SES notification, not yet signed."""
    return {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Message": json.dumps(ses_message),
        "Timestamp": "2026-11-27T15:00:00.000Z",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&x=1",
        **fields,
    }


def subscription(**fields: Any) -> dict[str, Any]:
    return {**sample("sns-subscription-confirmation.json"), **fields}


def post_sns(client, message: dict[str, Any], content_type: str = SNS_TEXT) -> Any:
    return client.post(SES_URL, data=json.dumps(message), content_type=content_type)


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {
        "SES_SNS_TOPIC_ARNS": frozenset({TOPIC}),
        "POSTMARK_WEBHOOK_USER": POSTMARK_USER,
        "POSTMARK_WEBHOOK_PASSWORD": POSTMARK_PASSWORD,
    }


class FakeFetch:
    """Stands in for ses.fetch (the network): serves the test certificate at CERT_URL and
    answers any other URL with an empty 200, noting every URL asked for."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.pages: dict[str, bytes] = {CERT_URL: CERTIFICATE}
        self.unreachable = False

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        if self.unreachable:
            raise ProviderUnreachable("sns.eu-west-1.amazonaws.com: ConnectTimeout")
        return self.pages.get(url, b"<ConfirmSubscriptionResponse/>")


@pytest.fixture
def fetched(monkeypatch) -> Iterator[FakeFetch]:
    fake = FakeFetch()
    monkeypatch.setattr(ses, "fetch", fake)
    ses.forget_certificates()
    yield fake
    ses.forget_certificates()


@pytest.fixture
def delivered(monkeypatch) -> list[tuple[Report, str]]:
    """What the routes hand on (the processing path is not part of these tests)."""
    handed: list[tuple[Report, str]] = []

    def deliver(reports: list[Report], source: str) -> None:
        handed.extend((report, source) for report in reports)

    monkeypatch.setattr(providers, "deliver_reports", deliver)
    return handed


def refusals() -> list[AuditEntry]:
    db.session.expire_all()
    query = sa.select(AuditEntry).where(AuditEntry.action == "access.refused")
    return list(db.session.scalars(query.order_by(AuditEntry.id)))


# -- SES through SNS -----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_bounce_is_handed_on(client, fetched, delivered, version):
    message = sign(notification(sample("ses-bounce-permanent.json")), version=version)

    response = post_sns(client, message)

    assert response.status_code == 200
    assert response.json == {"reports": 2}
    assert [source for _, source in delivered] == ["ses", "ses"]
    assert [report.address for report, _ in delivered] == [
        "jan.jansen@example.org",
        "piet.devries@example.org",
    ]
    assert fetched.urls == [CERT_URL]


def test_a_subject_is_signed_too(client, fetched, delivered):
    message = sign(notification(sample("ses-complaint.json"), Subject="Amazon SES Complaint"))

    assert post_sns(client, message).status_code == 200
    assert [report.kind for report, _ in delivered] == [ReportKind.COMPLAINT]

    message["Subject"] = "Something else"
    assert post_sns(client, message).status_code == 401


def test_the_string_to_sign_is_the_documented_one():
    message = {
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": TOPIC,
        "Message": "line one\nline two",
        "Timestamp": "2026-11-27T15:00:00.000Z",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
        "SignatureVersion": "1",
    }

    assert ses.string_to_sign(message) == (
        b"Message\nline one\nline two\nMessageId\nm-1\n"
        b"Timestamp\n2026-11-27T15:00:00.000Z\nTopicArn\n"
        + TOPIC.encode()
        + b"\nType\nNotification\n"
    )


def test_json_content_type_is_taken_as_well(client, fetched, delivered):
    message = sign(notification(sample("ses-complaint.json")))

    assert post_sns(client, message, content_type="application/json").status_code == 200


def test_a_form_body_is_415(client, fetched, delivered):
    response = client.post(SES_URL, data={"Type": "Notification"})

    assert response.status_code == 415
    assert delivered == []


def forged_message(message: dict[str, Any]) -> dict[str, Any]:
    return {**message, "Message": json.dumps(sample("ses-complaint.json"))}


def other_key(message: dict[str, Any]) -> dict[str, Any]:
    return sign({k: v for k, v in message.items() if k != "Signature"}, key=OTHER_KEY)


def other_version(message: dict[str, Any]) -> dict[str, Any]:
    return {**message, "SignatureVersion": "2"}  # signed as SHA1, claims SHA256


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(forged_message, id="message-changed"),
        pytest.param(lambda m: {**m, "TopicArn": TOPIC + "-x"}, id="topic-changed"),
        pytest.param(other_key, id="signed-by-another-key"),
        pytest.param(other_version, id="another-version"),
        pytest.param(lambda m: {**m, "SignatureVersion": "3"}, id="unknown-version"),
        pytest.param(lambda m: {**m, "Signature": "not base64!"}, id="not-base64"),
        pytest.param(lambda m: {**m, "Signature": ""}, id="empty"),
    ],
)
def test_a_forged_signature_is_401_and_hands_nothing_on(client, fetched, delivered, forge):
    message = forge(sign(notification(sample("ses-bounce-permanent.json"))))

    response = post_sns(client, message)

    assert response.status_code == 401
    assert response.json == {"error": "refused: bad-signature"}
    assert delivered == []
    [entry] = refusals()
    assert entry.details["reason"] == "bad-signature"
    assert entry.details["route"] == SES_URL
    assert entry.actor == "anonymous"


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://sns.eu-west-1.amazonaws.com.attacker.example/cert.pem",
        "https://attacker.example/sns.eu-west-1.amazonaws.com/cert.pem",
        "http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0.pem",
        "https://sns.eu-west-1.amazonaws.com:8443/SimpleNotificationService-0.pem",
        "https://me@sns.eu-west-1.amazonaws.com/SimpleNotificationService-0.pem",
        "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
        "https://s3.amazonaws.com/SimpleNotificationService-0.pem",
        "file:///etc/ssl/cert.pem",
        "https://[::1/cert.pem",
    ],
)
def test_a_certificate_off_the_sns_hosts_is_never_fetched(client, fetched, delivered, cert_url):
    """The attacker's own key and certificate, served from their own host: refused unread."""
    fetched.pages[cert_url] = make_certificate(OTHER_KEY)
    message = sign(
        notification(sample("ses-bounce-permanent.json"), SigningCertURL=cert_url), key=OTHER_KEY
    )

    response = post_sns(client, message)

    assert response.status_code == 401
    assert response.json == {"error": "refused: foreign-host"}
    assert fetched.urls == []
    assert delivered == []


def test_the_allowed_hosts_are_configurable(app, client, fetched, delivered):
    app.config["SES_SNS_CERT_HOSTS"] = parse_host_pattern(r"sns\.test\.example")
    message = sign(notification(sample("ses-complaint.json")))

    assert post_sns(client, message).status_code == 401
    assert fetched.urls == []


def test_an_expired_certificate_is_refused(client, fetched, delivered):
    fetched.pages[CERT_URL] = make_certificate(KEY, valid_for=timedelta(days=-0.5))

    response = post_sns(client, sign(notification(sample("ses-complaint.json"))))

    assert response.status_code == 401
    assert response.json == {"error": "refused: bad-certificate"}
    assert delivered == []


def test_what_is_no_certificate_is_refused(client, fetched, delivered):
    fetched.pages[CERT_URL] = b"<html>not a certificate</html>"

    response = post_sns(client, sign(notification(sample("ses-complaint.json"))))

    assert response.status_code == 401
    assert delivered == []


def test_the_certificate_is_fetched_once(client, fetched, delivered):
    for name in ("ses-complaint.json", "ses-bounce-transient.json"):
        assert post_sns(client, sign(notification(sample(name)))).status_code == 200

    assert fetched.urls == [CERT_URL]


def test_a_certificate_that_cannot_be_fetched_is_503_so_sns_retries(client, fetched, delivered):
    fetched.unreachable = True

    response = post_sns(client, sign(notification(sample("ses-complaint.json"))))

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert delivered == []


def test_another_topic_is_403(client, fetched, delivered):
    """Anyone with an AWS account can sign with SNS's key for a topic of their own."""
    message = sign(notification(sample("ses-complaint.json"), TopicArn=TOPIC + "-other"))

    response = post_sns(client, message)

    assert response.status_code == 403
    assert delivered == []
    [entry] = refusals()
    assert entry.details["reason"] == "unknown-topic"


def test_a_subscription_is_confirmed_by_visiting_its_url(client, fetched, delivered):
    message = sign(subscription())

    response = post_sns(client, message)

    assert response.status_code == 200
    assert response.json == {"reports": 0}
    assert fetched.urls == [CERT_URL, message["SubscribeURL"]]
    assert delivered == []


@pytest.mark.parametrize(
    ("message", "status"),
    [
        pytest.param(lambda: sign(subscription(TopicArn=TOPIC + "-other")), 403, id="other-topic"),
        pytest.param(lambda: {**sign(subscription()), "Token": "0"}, 401, id="forged"),
        pytest.param(
            lambda: sign(subscription(SubscribeURL="https://attacker.example/?Action=x")),
            401,
            id="foreign-subscribe-url",
        ),
    ],
)
def test_a_subscription_is_not_confirmed_unless_it_checks_out(
    client, fetched, delivered, message, status
):
    signed = message()

    response = post_sns(client, signed)

    assert response.status_code == status
    assert signed["SubscribeURL"] not in fetched.urls


def test_a_confirmation_that_cannot_reach_sns_is_503(client, fetched, delivered):
    message = sign(subscription())
    ses.signing_key(CERT_URL, parse_host_pattern(r"sns\..*"))  # the certificate is cached
    fetched.unreachable = True

    assert post_sns(client, message).status_code == 503


def test_an_unsubscribe_confirmation_is_acknowledged(client, fetched, delivered, caplog):
    message = sign(subscription(Type="UnsubscribeConfirmation"))

    response = post_sns(client, message)

    assert response.status_code == 200
    assert fetched.urls == [CERT_URL]
    assert "SES reports stop" in caplog.text


def test_a_delivery_hands_nothing_on(client, fetched, delivered):
    response = post_sns(client, sign(notification(sample("ses-delivery.json"))))

    assert response.status_code == 200
    assert response.json == {"reports": 0}
    assert delivered == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("not json", "the body is not a JSON document"),
        ("[]", "the body is not a JSON object"),
        ('{"Type": "Other"}', "Type must be one of"),
        ('{"Type": "Notification", "Message": "x"}', "MessageId must be a string"),
        (json.dumps({**sign(notification({})), "Subject": None}), "Subject must be a string"),
    ],
)
def test_a_malformed_body_is_400(client, fetched, delivered, body, error):
    response = client.post(SES_URL, data=body, content_type=SNS_TEXT)

    assert response.status_code == 400
    assert response.json["error"].startswith(error)
    assert delivered == []


@pytest.mark.parametrize(
    ("ses_message", "error"),
    [
        ("not json", "Message is not the JSON of an SES notification"),
        ({"notificationType": "Bounce"}, "mail must be an object"),
        (
            {"notificationType": "Bounce", "mail": {}, "bounce": {"bounceType": "Odd"}},
            "bounce.bounceType must be one of",
        ),
        (
            {"notificationType": "Complaint", "mail": {}, "complaint": {}},
            "complaint.complainedRecipients must be a list of objects",
        ),
        (
            {
                "notificationType": "Bounce",
                "mail": {},
                "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{}]},
            },
            "bounce.bouncedRecipients[].emailAddress must be an email address",
        ),
    ],
)
def test_a_signed_but_malformed_notification_is_400(client, fetched, delivered, ses_message, error):
    text = ses_message if isinstance(ses_message, str) else json.dumps(ses_message)
    message = sign({**notification({}), "Message": text})

    response = post_sns(client, message)

    assert response.status_code == 400
    assert response.json["error"].startswith(error)
    assert delivered == []


def test_the_ses_webhook_is_off_without_topics(app, client, fetched, delivered):
    app.config["SES_SNS_TOPIC_ARNS"] = frozenset()

    response = post_sns(client, sign(notification(sample("ses-complaint.json"))))

    assert response.status_code == 404
    assert response.json == {"error": "not found"}
    assert fetched.urls == []


def test_a_database_that_cannot_store_is_503(client, fetched, monkeypatch):
    def unavailable(reports: list[Report], source: str) -> None:
        raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(providers, "deliver_reports", unavailable)

    response = post_sns(client, sign(notification(sample("ses-complaint.json"))))

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"


# -- what the SES notifications say ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reports"),
    [
        (
            "ses-bounce-permanent.json",
            [
                Report(
                    ReportKind.HARD,
                    address="jan.jansen@example.org",
                    verp_tag="Vt1kq3Xz.8c2f0a",
                    message_id="<173280000.12345.6789@alumni.example.org>",
                    status="5.1.1",
                ),
                Report(
                    ReportKind.HARD,
                    address="piet.devries@example.org",
                    verp_tag="Vt1kq3Xz.8c2f0a",
                    message_id="<173280000.12345.6789@alumni.example.org>",
                    status="5.1.10",
                ),
            ],
        ),
        (
            "ses-bounce-transient.json",
            [
                Report(
                    ReportKind.SOFT,
                    address="klaas@example.org",
                    verp_tag="Qm9vZ2xl.77aa01",
                    message_id="<173280077.4242.1@alumni.example.org>",
                    status="4.2.2",
                )
            ],
        ),
        (
            "ses-bounce-undetermined.json",
            [Report(ReportKind.SOFT, address="marie@example.org")],
        ),
        (
            "ses-complaint.json",
            [
                Report(
                    ReportKind.COMPLAINT,
                    address="sanne@example.org",
                    verp_tag="Zm9vYmFy.0badc0",
                    message_id="<173280999.1.2@alumni.example.org>",
                )
            ],
        ),
        (
            "ses-event-bounce.json",
            [
                Report(
                    ReportKind.HARD,
                    address="henk@example.org",
                    verp_tag="SGVuaw.abcdef",
                    status="5.1.1",
                )
            ],
        ),
        ("ses-delivery.json", []),
    ],
)
def test_ses_notifications_become_reports(name, reports):
    assert ses.ses_reports(sample(name)) == reports


def test_the_message_id_ses_gave_is_never_ours():
    message = sample("ses-bounce-undetermined.json")
    message["mail"]["commonHeaders"] = {"messageId": message["mail"]["messageId"]}

    assert ses.ses_reports(message)[0].message_id is None


def test_a_not_spam_report_is_no_complaint():
    message = sample("ses-complaint.json")
    message["complaint"]["complaintFeedbackType"] = "not-spam"

    assert ses.ses_reports(message) == []


@pytest.mark.parametrize(
    ("status", "kept"),
    [("5.1.1", "5.1.1"), (" 4.4.7 ", "4.4.7"), ("550", None), ("5.1.1; junk", None), (7, None)],
)
def test_only_a_well_formed_status_is_kept(status, kept):
    message = sample("ses-bounce-transient.json")
    message["bounce"]["bouncedRecipients"][0]["status"] = status

    assert ses.ses_reports(message)[0].status == kept


@pytest.mark.parametrize(
    ("address", "tag"),
    [
        ("bounces+Vt1kq3Xz.8c2f0a@alumni.example.org", "Vt1kq3Xz.8c2f0a"),
        ("Alumni <bounces+abc@alumni.example.org>", "abc"),
        ("bounces+a+b@alumni.example.org", "a+b"),
        ("bounces@alumni.example.org", None),
        ("bounces+@alumni.example.org", None),
        ("bounces+abc", None),
        ("", None),
        (None, None),
    ],
)
def test_the_verp_tag_is_the_local_part_after_the_plus(address, tag):
    assert verp_tag(address) == tag


# -- Postmark ------------------------------------------------------------------------------------


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


AUTHORIZED = basic(POSTMARK_USER, POSTMARK_PASSWORD)


def test_a_postmark_bounce_with_its_credentials_is_handed_on(client, delivered):
    response = client.post(
        POSTMARK_URL, json=sample("postmark-bounce-hard.json"), headers=AUTHORIZED
    )

    assert response.status_code == 200
    assert delivered == [(Report(ReportKind.HARD, address="jan.jansen@example.org"), "postmark")]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param(basic(POSTMARK_USER, "wrong"), id="wrong-password"),
        pytest.param(basic("someone", POSTMARK_PASSWORD), id="wrong-user"),
        pytest.param(basic(POSTMARK_USER, POSTMARK_PASSWORD + "x"), id="longer-password"),
        pytest.param(basic("", ""), id="empty"),
        pytest.param({"Authorization": f"Bearer {POSTMARK_PASSWORD}"}, id="bearer"),
        pytest.param({"Authorization": "Basic !!!"}, id="not-base64"),
    ],
)
def test_postmark_without_its_credentials_is_401(client, delivered, headers):
    response = client.post(
        POSTMARK_URL, json=sample("postmark-spam-complaint.json"), headers=headers
    )

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="alumni-bounces"'
    assert response.json == {"error": "refused: bad-credentials"}
    assert delivered == []
    [entry] = refusals()
    assert entry.details["reason"] == "bad-credentials"
    assert POSTMARK_PASSWORD not in json.dumps(entry.details)


@pytest.mark.parametrize("unset", ["POSTMARK_WEBHOOK_USER", "POSTMARK_WEBHOOK_PASSWORD"])
def test_the_postmark_webhook_is_off_without_credentials(app, client, delivered, unset):
    app.config[unset] = None

    response = client.post(POSTMARK_URL, json={}, headers=AUTHORIZED)

    assert response.status_code == 404
    assert delivered == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[]", 400),
        (b'{"RecordType": "Bounce"}', 400),
        (b'{"RecordType": "Bounce", "Type": "HardBounce", "Email": "nobody"}', 400),
        (b'{"RecordType": 7}', 400),
    ],
)
def test_a_malformed_postmark_body_is_400(client, delivered, body, status):
    response = client.post(
        POSTMARK_URL, data=body, content_type="application/json", headers=AUTHORIZED
    )

    assert response.status_code == status
    assert delivered == []


def test_postmark_posts_json_only(client, delivered):
    response = client.post(POSTMARK_URL, data="x", content_type="text/plain", headers=AUTHORIZED)

    assert response.status_code == 415


@pytest.mark.parametrize(
    ("name", "reports"),
    [
        (
            "postmark-bounce-hard.json",
            [Report(ReportKind.HARD, address="jan.jansen@example.org")],
        ),
        (
            "postmark-bounce-soft.json",
            [
                Report(
                    ReportKind.SOFT,
                    address="klaas@example.org",
                    message_id="<173280077.4242.1@alumni.example.org>",
                )
            ],
        ),
        (
            "postmark-spam-complaint.json",
            [Report(ReportKind.COMPLAINT, address="sanne@example.org")],
        ),
        ("postmark-delivery.json", []),
    ],
)
def test_postmark_records_become_reports(name, reports):
    assert postmark.webhook_reports(json.dumps(sample(name)).encode()) == reports


@pytest.mark.parametrize(
    ("bounce_type", "kind"),
    [
        ("HardBounce", ReportKind.HARD),
        ("BadEmailAddress", ReportKind.HARD),
        ("SoftBounce", ReportKind.SOFT),
        ("Transient", ReportKind.SOFT),
        ("DnsError", ReportKind.SOFT),
        ("AutoResponder", ReportKind.AUTO_REPLY),
        ("SpamComplaint", ReportKind.COMPLAINT),
        ("Blocked", None),
        ("SpamNotification", None),
        ("DMARCPolicy", None),
        ("ManuallyDeactivated", None),
        ("Unsubscribe", None),
        ("SomethingNew", None),
    ],
)
def test_postmark_bounce_types(bounce_type, kind):
    record = {**sample("postmark-bounce-hard.json"), "Type": bounce_type}

    reports = postmark.webhook_reports(json.dumps(record).encode())

    assert [report.kind for report in reports] == ([] if kind is None else [kind])


# -- neither webhook answers 5xx, whatever arrives ------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
SNS_LIKE = st.fixed_dictionaries(
    {"Type": st.sampled_from(list(ses.SIGNED_FIELDS)) | st.text(max_size=5)},
    optional={
        name: st.text(max_size=30) | JSON_VALUES
        for name in (
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Token",
            "SubscribeURL",
            "Signature",
            "SignatureVersion",
            "SigningCertURL",
        )
    },
)
POSTMARK_LIKE = st.fixed_dictionaries(
    {"RecordType": st.sampled_from(["Bounce", "SpamComplaint", "Delivery"]) | JSON_VALUES},
    optional={
        "Type": st.sampled_from(list(postmark.BOUNCE_KINDS)) | JSON_VALUES,
        "Email": st.emails() | JSON_VALUES,
        "Headers": JSON_VALUES,
    },
)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@given(body=st.one_of(SNS_LIKE, JSON_VALUES), as_text=st.booleans())
@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_ses_webhook_never_fails_with_5xx(client, fetched, delivered, body, as_text):
    data = json.dumps(body) if as_text else json.dumps(body)[:-1]

    response = client.post(SES_URL, data=data, content_type=SNS_TEXT)

    assert response.status_code in (400, 401)
    assert delivered == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@given(body=st.one_of(POSTMARK_LIKE, JSON_VALUES))
@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_postmark_webhook_never_fails_with_5xx(client, delivered, body):
    response = client.post(POSTMARK_URL, json=body, headers=AUTHORIZED)

    assert response.status_code in (200, 400)


# -- the real fetch ------------------------------------------------------------------------------


class Pages(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/redirect.pem":
            self.send_response(302)
            # To a certificate that would be read if the redirect were followed.
            host, port = self.server.server_address[:2]
            self.send_header("Location", f"http://{host}:{port}/cert.pem")
            self.end_headers()
            return
        body = CERTIFICATE if self.path == "/cert.pem" else b"x" * (ses.MAX_FETCH_BYTES + 1)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetch_reads_a_certificate(local_server):
    assert ses.fetch(f"{local_server}/cert.pem") == CERTIFICATE


@pytest.mark.parametrize("path", ["/redirect.pem", "/huge.pem"])
def test_fetch_follows_no_redirect_and_reads_no_more_than_a_certificate(local_server, path):
    with pytest.raises(ProviderUnreachable):
        ses.fetch(f"{local_server}{path}")


def test_a_host_pattern_that_does_not_compile_stops_the_app():
    with pytest.raises(ValueError, match="SES_SNS_CERT_HOSTS"):
        parse_host_pattern("sns.(")


def test_each_webhook_is_rate_limited(app, client, delivered):
    app.config["BOUNCE_WEBHOOK_RATE_LIMIT"] = "2 per minute"
    record = sample("postmark-delivery.json")

    statuses = [
        client.post(POSTMARK_URL, json=record, headers=AUTHORIZED).status_code for _ in range(3)
    ]

    assert statuses == [200, 200, 429]
