"""What a method author's tests need, installed with harness: `check_method` (the contract check any method, in or
out of the repository, runs with one call) and, through the pytest plugin `harness.testing.plugin` (entry point
`pytest11`, active wherever harness is installed), the fixtures `tiny_tokenizer`, `tiny_model_dir` and `tiny_llm`."""

from harness.testing.contract import ContractFailure, ContractReport, check_method

__all__ = ["ContractFailure", "ContractReport", "check_method"]
