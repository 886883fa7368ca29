from pydantic import BaseModel


class Verdict(BaseModel):
    winner: str
    reasons: list[str]
