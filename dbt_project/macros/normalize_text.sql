{#- Trimmed text with inner whitespace collapsed; NULL when empty. -#}
{% macro clean_text(expr) -%}
    nullif(trim({{ regexp_replace_all(expr, '\\s+', ' ') }}), '')
{%- endmacro %}

{#- Text to boolean, accepting the spellings exports use (true/false, t/f, yes/no, y/n, 1/0). -#}
{% macro to_boolean(expr) -%}
    case lower(trim({{ expr }}))
        when 'true' then true when 't' then true when 'yes' then true when 'y' then true when '1' then true
        when 'false' then false when 'f' then false when 'no' then false when 'n' then false when '0' then false
    end
{%- endmacro %}

{#- Money / decimal amounts: any numeric spelling ("1.5e3", "1200") to decimal(18, 2). -#}
{% macro to_amount(expr) -%}
    cast(try_cast(nullif(trim({{ expr }}), '') as double) as decimal(18, 2))
{%- endmacro %}

{#- Integer counts; "120.0" reads as 120. -#}
{% macro to_integer(expr) -%}
    cast(try_cast(nullif(trim({{ expr }}), '') as double) as bigint)
{%- endmacro %}

{#- Name key for matching: lower case, accents stripped, letters only ("Jean-Luc" -> "jeanluc"); NULL when empty. -#}
{% macro name_key(expr) -%}
    nullif({{ regexp_replace_all('lower(' ~ without_accents(expr) ~ ')', '[^a-z]', '') }}, '')
{%- endmacro %}
