"""Coach mode: a conversation becomes an opportunity card, a price-avoidance count, quotes and follow-ups."""

from tools.coach.models import CoachReport
from tools.coach.service import coach_path, coach_text

__all__ = ["CoachReport", "coach_path", "coach_text"]
