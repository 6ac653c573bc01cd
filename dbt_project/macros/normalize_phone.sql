{#-
    Country names as exports write them ("United Kingdom", "UK", "gb", "Deutschland") to
    ISO 3166-1 alpha-2; unknown spellings pass through upper-cased when they are two letters,
    else NULL. Python reads the same spellings from orchestration/identifiers/country.py (erasure
    reads national phones in that region); tests/test_identifier_normalization.py checks both agree.
-#}
{% macro country_iso2(expr) -%}
    {%- set names = {
        'US': ['US', 'USA', 'U.S.', 'U.S.A.', 'UNITED STATES', 'UNITED STATES OF AMERICA', 'AMERICA'],
        'CA': ['CA', 'CAN', 'CANADA'],
        'GB': ['GB', 'GBR', 'UK', 'U.K.', 'UNITED KINGDOM', 'GREAT BRITAIN', 'ENGLAND', 'SCOTLAND', 'WALES', 'NORTHERN IRELAND'],
        'DE': ['DE', 'DEU', 'GERMANY', 'DEUTSCHLAND'],
        'FR': ['FR', 'FRA', 'FRANCE'],
        'ES': ['ES', 'ESP', 'SPAIN', 'ESPANA', 'ESPAÑA'],
        'IT': ['IT', 'ITA', 'ITALY', 'ITALIA'],
        'NL': ['NL', 'NLD', 'NETHERLANDS', 'THE NETHERLANDS', 'HOLLAND'],
        'IE': ['IE', 'IRL', 'IRELAND'],
        'AU': ['AU', 'AUS', 'AUSTRALIA'],
        'CH': ['CH', 'CHE', 'SWITZERLAND', 'SCHWEIZ', 'SUISSE'],
        'AT': ['AT', 'AUT', 'AUSTRIA', 'ÖSTERREICH', 'OESTERREICH'],
        'BE': ['BE', 'BEL', 'BELGIUM', 'BELGIQUE', 'BELGIE'],
    } -%}
    case
    {%- for iso2, spellings in names.items() %}
        when upper(trim({{ expr }})) in ({% for s in spellings %}'{{ s }}'{% if not loop.last %}, {% endif %}{% endfor %}) then '{{ iso2 }}'
    {%- endfor %}
        when {{ regexp_contains('upper(trim(' ~ expr ~ '))', '^[A-Z]{2}$') }} then upper(trim({{ expr }}))
    end
{%- endmacro %}

{#- International calling code (without +) for an ISO2 country; NULL when not known. -#}
{% macro country_calling_code(iso2) -%}
    case {{ iso2 }}
        when 'US' then '1' when 'CA' then '1'
        when 'GB' then '44' when 'DE' then '49' when 'FR' then '33' when 'ES' then '34'
        when 'IT' then '39' when 'NL' then '31' when 'IE' then '353' when 'AU' then '61'
        when 'CH' then '41' when 'AT' then '43' when 'BE' then '32'
    end
{%- endmacro %}

{#-
    Phone text to E.164 ('+4915123456789'), or NULL when it is not a valid number. A number
    without an international prefix ("+" or "00") is read as a number of `country_iso2` (an
    ISO2 expression; NULL, or no argument, falls back to var default_phone_country).

    On DuckDB this is libphonenumber: the function phone_e164(raw, region) that the dbt-duckdb
    plugin of profiles.yml registers on every dbt connection (orchestration/identifiers/phone.py),
    the same normalization Python code uses. The function exists only inside dbt's process, so a
    view calling it could not be read by an analyst's duckdb CLI: models calling this macro must
    be tables (the macro refuses views).
-#}
{% macro normalize_phone_e164(phone, country_iso2=none) -%}
    {{ return(adapter.dispatch('normalize_phone_e164', 'customer_warehouse')(phone, country_iso2)) }}
{%- endmacro %}

{% macro duckdb__normalize_phone_e164(phone, country_iso2) -%}
    {%- if execute and config.get('materialized') == 'view' -%}
        {{ exceptions.raise_compiler_error(model.name ~ " is a view calling phone_e164(), which only dbt's connections know: materialize it as a table") }}
    {%- endif -%}
    phone_e164({{ phone }}, {{ phone_region(country_iso2) }})
{%- endmacro %}

{#- Spark: the same libphonenumber function, a UDF orchestration/spark_engine.py registers on the
    session dbt runs in (a temporary function: no view can call it either). -#}
{% macro spark__normalize_phone_e164(phone, country_iso2) -%}
    {{ duckdb__normalize_phone_e164(phone, country_iso2) }}
{%- endmacro %}

{#- Region national numbers are read in: the record's ISO2 country, else var default_phone_country. -#}
{% macro phone_region(country_iso2=none) -%}
    {%- set default_country = "'" ~ var('default_phone_country') ~ "'" -%}
    {{ 'coalesce(' ~ country_iso2 ~ ', ' ~ default_country ~ ')' if country_iso2 is not none else default_country }}
{%- endmacro %}

{#-
    Portable fallback for engines without the Python function (DuckDB and Spark have it):
    plain SQL that approximates libphonenumber for the countries below.

      1. drop extensions ("x12", "ext. 12") and a "(0)" trunk written after the country code
      2. "+..." or "00..." is already international
      3. otherwise the number is national for the record's country (`country_iso2`, an ISO2
         expression; NULL falls back to var default_phone_country): NANP (+1) takes 10 digits
         or 11 starting with 1; elsewhere the trunk 0 is dropped (not in Italy), and digits
         that already start with the country code are taken as written without "+"
      4. plausibility: 8-15 digits after "+", no leading 0; +1 needs a valid NANP area code and
         exchange, +44 10 digits, +33 9 digits, +49 6-13 digits.
-#}
{% macro default__normalize_phone_e164(phone, country_iso2) -%}
    {%- set country = phone_region(country_iso2) -%}
    {%- set cleaned = regexp_replace_all(regexp_replace_all('trim(' ~ phone ~ ')', '\\s*(ext\\.?|extension|x|#)\\s*[0-9]+\\s*$', '', 'i'), '\\(0\\)', '') -%}
    {%- set candidate -%}
        case
            when _digits = '' then null
            when _cleaned like '+%' then '+' || _digits
            when _digits like '00%' then '+' || substr(_digits, 3)
            when _cc = '1' then
                case
                    when length(_digits) = 10 then '+1' || _digits
                    when length(_digits) = 11 and _digits like '1%' then '+' || _digits
                end
            when _cc is null then null
            when _cc = '39' then
                case when _digits like '39%' and length(_digits) >= 11 then '+' || _digits else '+39' || _digits end
            when _digits like '0%' then '+' || _cc || substr(_digits, 2)
            when _digits like _cc || '%' and length(_digits) >= length(_cc) + 8 then '+' || _digits
            else '+' || _cc || _digits
        end
    {%- endset -%}
    {%- set validated -%}
        case
            when not {{ regexp_contains('_e164', '^\\+[1-9][0-9]{7,14}$') }} then null
            when _e164 like '+1%' and not {{ regexp_contains('_e164', '^\\+1[2-9][0-9]{2}[2-9][0-9]{6}$') }} then null
            when _e164 like '+44%' and not {{ regexp_contains('_e164', '^\\+44[1-9][0-9]{9}$') }} then null
            when _e164 like '+33%' and not {{ regexp_contains('_e164', '^\\+33[1-9][0-9]{8}$') }} then null
            when _e164 like '+49%' and not {{ regexp_contains('_e164', '^\\+49[1-9][0-9]{5,12}$') }} then null
            else _e164
        end
    {%- endset -%}
    {{ let(cleaned, '_cleaned',
           let(country_calling_code(country), '_cc',
               let(regexp_replace_all('_cleaned', '[^0-9]', ''), '_digits',
                   let(candidate, '_e164', validated)))) }}
{%- endmacro %}
