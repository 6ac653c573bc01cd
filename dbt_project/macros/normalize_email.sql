{#-
    Email normalization.

    email            trim + lower; NULL unless it looks like local@domain.tld
    email_match_key  the key identity resolution matches on: for Gmail addresses
                     (gmail.com, googlemail.com) Gmail ignores dots and "+tags" in the local
                     part, so the key is <local without dots and +tag>@gmail.com; other
                     providers treat those characters as significant, so the key is the
                     normalized email.

    Python applies the same rules (orchestration/identifiers/email.py: erasure, exports, explain);
    tests/test_identifier_normalization.py checks both agree on one table of cases.
-#}

{% macro normalize_email(expr) -%}
    case
        when {{ regexp_contains('lower(trim(' ~ expr ~ '))', '^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$') }}
            then lower(trim({{ expr }}))
    end
{%- endmacro %}

{% macro email_local_part(email) -%}
    split_part({{ email }}, '@', 1)
{%- endmacro %}

{% macro email_domain(email) -%}
    nullif(split_part({{ email }}, '@', 2), '')
{%- endmacro %}

{#- `email` must already be normalized (normalize_email). -#}
{% macro email_match_key(email) -%}
    case
        when {{ email_domain(email) }} in ('gmail.com', 'googlemail.com')
            then {{ regexp_replace_all("split_part(" ~ email_local_part(email) ~ ", '+', 1)", '\\.', '') }} || '@gmail.com'
        else {{ email }}
    end
{%- endmacro %}

{#- Company web domain: lower, no scheme, no www., no path / port / trailing dot. -#}
{% macro normalize_domain(expr) -%}
    nullif(
        trim(
            {{ regexp_replace_all(
                regexp_replace_all(
                    regexp_replace_all('lower(trim(' ~ expr ~ '))', '^[a-z][a-z0-9+.-]*://', ''),
                    '[/:?#].*$', ''),
                '^www\\.|\\.$', '') }}
        ),
        ''
    )
{%- endmacro %}
