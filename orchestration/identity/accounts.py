"""Accounts: CRM company records unified into companies (the `int_identity_account_clusters` step).

Edges join a CRM company record to
  domain:<d>   its normalized web domain, unless it is a free-mail domain (seed free_email_domains)
  name:<n>     its name key (orchestration/identifiers/company.py: lower case, accents,
               punctuation, "the" and legal forms - Inc., GmbH, Ltd... - removed), unless the records with that name key
               carry two different domains (two companies with one name)
and connected components are accounts. account_id = 'acc_' + md5(smallest company id)[:16],
the id the account had when it was one CRM company, so it stays stable while no duplicate
arrives.
"""

import hashlib

import pandas as pd

from orchestration.identifiers.company import name_key
from orchestration.identity.graph import component_labels


def account_id(company_id) -> str:
    return "acc_" + hashlib.md5(str(company_id).encode("utf-8")).hexdigest()[:16]


def clusters(companies: pd.DataFrame, free_domains: set) -> pd.DataFrame:
    """companies: company_id, company_name, domain -> company_id, account_id, anchor_company_id, link_reason."""
    df = companies.copy()
    if df.empty:
        return pd.DataFrame({"company_id": pd.Series(dtype="int64"), "account_id": pd.Series(dtype="string"),
                             "anchor_company_id": pd.Series(dtype="int64"), "link_reason": pd.Series(dtype="string")})
    df["company_id"] = df["company_id"].astype("int64")
    df["domain"] = df["domain"].astype("object")
    df["domain_key"] = df["domain"].where(~df["domain"].isin(free_domains))
    df["name_key"] = [name_key(n) for n in df["company_name"]]
    domains_per_name = df.dropna(subset=["domain_key"]).groupby("name_key")["domain_key"].nunique()
    ambiguous = set(domains_per_name[domains_per_name > 1].index)
    keys = df["company_id"].astype(str)
    edges = pd.concat([
        pd.DataFrame({"k": keys, "node": "domain:" + df["domain_key"]}).dropna(),
        pd.DataFrame({"k": keys, "node": "name:" + df["name_key"].where(~df["name_key"].isin(ambiguous))}).dropna(),
    ])
    df["component"] = component_labels(keys, edges["k"], edges["node"])
    df["anchor_company_id"] = df.groupby("component")["company_id"].transform("min")
    df["account_id"] = [account_id(a) for a in df["anchor_company_id"]]
    size = df.groupby("component")["company_id"].transform("size")
    anchor = df.set_index("company_id")
    same_domain = [a is not None and a == b for a, b in zip(df["domain_key"], anchor.loc[df["anchor_company_id"], "domain_key"])]
    df["link_reason"] = ["anchor" if c == a else "domain" if d else "name"
                         for c, a, d in zip(df["company_id"], df["anchor_company_id"], same_domain)]
    df.loc[size == 1, "link_reason"] = "anchor"
    return df[["company_id", "account_id", "anchor_company_id", "link_reason"]].sort_values("company_id", ignore_index=True)
