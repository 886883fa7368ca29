"""Output models named by tasks.yaml (output_pydantic, output_json)."""

from pydantic import BaseModel


class CompanyFacts(BaseModel):
    founded: int
    headquarters: str


class Founders(BaseModel):
    founders: list[str]
