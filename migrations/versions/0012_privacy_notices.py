"""privacy notices as records: every version's text in Dutch and English with its SHA-256, and
every consent and piece of evidence pointing to the version it was given under

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 09:30:00

The first version, 2026-11 (the version every consent so far was recorded under unless
NOTICE_VERSION said otherwise), is the standard notice this software shipped with, written for
the organisation configured when the migration runs. Any other version found in the evidence
gets a row without text: its text was never recorded, and the staff page says so.
"""
from datetime import datetime, timezone
from hashlib import sha256

from alembic import op
import sqlalchemy as sa
from flask import current_app

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

FIRST_VERSION = "2026-11"

STANDARD_NL = """\
# Privacyverklaring voor alumni

{organisation} wil graag na je studie met je in contact blijven: om je te vertellen over
cursussen en trainingen die bij je passen, je uit te nodigen voor evenementen en activiteiten,
en om ons onderwijs te verbeteren door je te vragen naar je ervaring of je te laten meedoen
aan onderzoek.

## 1. Waarom mogen wij je gegevens gebruiken?

Alleen met je toestemming. Die geef je vrijwillig, per doel, met het digitale formulier dat je
per e-mail van ons krijgt. Geef je geen toestemming, dan gebruiken we je gegevens niet voor
alumnidoeleinden. Je kunt je toestemming op elk moment intrekken.

## 2. Welke gegevens gebruiken we?

Alleen wat nodig is om contact met je te houden: je voor- en achternaam, je voorkeursnaam, de
opleiding die je bij ons volgde, je telefoonnummer, je e-mailadres, je geslacht, je
geboortedatum en je afstudeerjaar.

## 3. Waarvoor gebruiken we je gegevens?

- om je uit te nodigen voor cursussen en trainingen;
- om je uit te nodigen voor vacatures of gastlessen bij {organisation};
- om je uit te nodigen voor evenementen en activiteiten voor alumni;
- om je te vragen mee te doen aan onderzoek;
- om je te vragen naar je ervaring bij {organisation}.

Je kiest per doel ja of nee, en we benaderen je alleen voor de doelen waar je ja op zei.

## 4. Wie ziet je gegevens, en hoe lang bewaren we ze?

Alleen medewerkers die met alumni werken, bijvoorbeeld wie de uitnodigingen verstuurt. We
bewaren je gegevens zolang je toestemming geeft.

## 5. Delen we je gegevens?

We geven je gegevens niet aan andere organisaties. Helpt een organisatie ons, bijvoorbeeld een
onderzoeksbureau, dan maken we vooraf afspraken zodat zij zich aan de privacyregels houden en
je gegevens voor niets anders gebruiken.

## 6. Je rechten

Je hebt alle rechten uit de AVG. In elke e-mail die we je als alumnus sturen kun je je afmelden
voor e-mails of je gegevens laten verwijderen. Je kunt ook mailen naar {contact}. Trek je je
toestemming in, dan verwijderen we de gegevens waarvoor we geen wettelijke bewaarplicht hebben.

## Nieuwsbrieven

Om te meten hoeveel mensen een nieuwsbrief openen, zit er in elke nieuwsbrief een willekeurige
code. We slaan niet op welke code naar wie ging: we weten alleen dat en hoe vaak een nieuwsbrief
is geopend, niet door wie. Je IP-adres en e-mailadres gebruiken we daarvoor niet.
"""

STANDARD_EN = """\
# Privacy notice for alumni

{organisation} would like to stay in touch with you after your studies: to tell you about
courses and trainings that suit you, to invite you to events and activities, and to improve our
teaching by asking about your experience or inviting you to take part in research.

## 1. Why may we use your data?

Only with your consent. You give it freely, per purpose, with the digital form we send you by
email. If you do not consent, we do not use your data for alumni purposes. You can withdraw
your consent at any time.

## 2. Which data do we use?

Only what we need to stay in touch: your first and last name, your preferred name, the
programme you followed with us, your phone number, your email address, your gender, your date
of birth and your graduation year.

## 3. What do we use your data for?

- to invite you to courses and trainings;
- to invite you to vacancies or guest lectures at {organisation};
- to invite you to events and activities for alumni;
- to ask you to take part in research;
- to ask about your experience at {organisation}.

You choose yes or no per purpose, and we contact you only for the purposes you said yes to.

## 4. Who sees your data, and how long do we keep it?

Only staff who work with alumni, for example those who send the invitations. We keep your data
for as long as you give your consent.

## 5. Do we share your data?

We do not pass your data to other organisations. When an organisation helps us, for example a
research bureau, we agree beforehand that it follows the privacy rules and uses your data for
nothing else.

## 6. Your rights

You have every right the GDPR gives you. Every email we send you as an alumnus lets you
unsubscribe from emails or have your data deleted. You can also write to {contact}. When you
withdraw your consent, we delete the data we have no legal duty to keep.

## Newsletters

To measure how many people open a newsletter, each one carries a random code. We do not store
which code went to whom: we learn that and how often a newsletter was opened, never by whom.
Your IP address and email address are not used for this.
"""


def digest(text):
    return sha256(text.encode("utf-8")).hexdigest()


def upgrade():
    notices = op.create_table(
        "privacy_notices",
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("material", sa.Boolean(), nullable=False),
        sa.Column("text_nl", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("sha256_nl", sa.String(length=64), nullable=True),
        sa.Column("sha256_en", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_privacy_notices")),
    )
    with op.batch_alter_table("privacy_notices") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_privacy_notices_published_at"), ["published_at"], unique=False
        )

    connection = op.get_bind()
    first_use = {
        version: _when(first)
        for version, first in connection.execute(
            sa.text(
                "SELECT notice_version, MIN(recorded_at) FROM consent_evidence "
                "GROUP BY notice_version"
            )
        )
    }
    for (version,) in connection.execute(sa.text("SELECT DISTINCT notice_version FROM consents")):
        first_use.setdefault(version, None)
    config = current_app.config
    names = {
        "organisation": config.get("ORGANISATION_NAME", "Demo College"),
        "contact": config.get("PRIVACY_CONTACT", "privacy@demo-college.example"),
    }
    nl, en = STANDARD_NL.format(**names), STANDARD_EN.format(**names)
    rows = [
        {
            "version": FIRST_VERSION,
            "published_at": first_use.pop(FIRST_VERSION, None) or _now(),
            "material": False,
            "text_nl": nl,
            "text_en": en,
            "sha256_nl": digest(nl),
            "sha256_en": digest(en),
        }
    ]
    rows += [
        {
            "version": version,
            "published_at": first or _now(),
            "material": False,
            "text_nl": "",
            "text_en": "",
            "sha256_nl": None,
            "sha256_en": None,
        }
        for version, first in first_use.items()
    ]
    op.bulk_insert(notices, rows)

    for table in ("consents", "consent_evidence"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_notice_version_privacy_notices"),
                "privacy_notices",
                ["notice_version"],
                ["version"],
            )


def _now():
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _when(value):
    """MIN() of a date column comes back as text on SQLite."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def downgrade():
    for table in ("consent_evidence", "consents"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_notice_version_privacy_notices"), type_="foreignkey"
            )
    with op.batch_alter_table("privacy_notices") as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_notices_published_at"))
    op.drop_table("privacy_notices")
