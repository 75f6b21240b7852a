"""Demo data: three ICBs of the south east with their training hubs, PCNs and practices, about
2,000 placement-quality responses and a reply from the leader of every ICB, plus two sign-ins.
The placement survey has run in two waves, one per rotation: wave 1 closed with most of the
responses, wave 2 open with the rest, and supervision better in the weak hub in wave 2.

The numbers are invented but not flat: one hub is clearly weaker and one clearly stronger, each
practice has its own effect, professions differ the way they do in real placement surveys, items
of one theme move together, and free text mentions the codebook themes at rates that differ by
hub, so every chart and table of a report has something to show.

`build.py` puts it together in one transaction; `organisations.py`, `placement.py`,
`icb_leaders.py` and `users.py` each build one part, and `storing.py` inserts the responses.
"""

from survey_app.demo.build import DemoSummary, build_demo, database_is_empty
from survey_app.demo.users import DEMO_USERS, DemoLogin, login_lines

__all__ = [
    "DEMO_USERS",
    "DemoLogin",
    "DemoSummary",
    "build_demo",
    "database_is_empty",
    "login_lines",
]
