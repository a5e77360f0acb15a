"""Pages a person reads about a run: the run report as one self-contained HTML file."""

from .run_facts import RunFacts as RunFacts
from .run_facts import TaskFacts as TaskFacts
from .run_facts import gather_run as gather_run
from .run_html import render_run_html as render_run_html
from .run_html import write_run_html as write_run_html
