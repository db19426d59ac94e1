{#- How two identity records compare (aliases a and b of int_identity_records). One place for the
    rules, used by the guards on shared contacts and by the probabilistic pass. -#}

{%- macro identity_given_agree(a, b) -%}
    (case when {{ a }}.given_key is not null and {{ b }}.given_key is not null
          then list_has_any({{ a }}.given_keys, {{ b }}.given_keys)
               or jaro_winkler_similarity({{ a }}.given_key, {{ b }}.given_key) >= 0.92 end)
{%- endmacro -%}

{#- Surnames are compared only between full names: a lone word may be a given name. -#}
{%- macro identity_surname_agree(a, b) -%}
    (case when {{ a }}.has_full_name and {{ b }}.has_full_name
          then jaro_winkler_similarity({{ a }}.surname_key, {{ b }}.surname_key) >= 0.9 end)
{%- endmacro -%}

{#- A one-word name ("Julia", "Сергей") against any name: it must be one of the other's words. -#}
{%- macro identity_lone_name_conflicts(a, b) -%}
    ((not {{ a }}.has_full_name or not {{ b }}.has_full_name)
     and len({{ a }}.any_name_keys) > 0 and len({{ b }}.any_name_keys) > 0
     and not list_has_any({{ a }}.any_name_keys, {{ b }}.any_name_keys))
{%- endmacro -%}

{#- The name-order swap (surname typed as the given name and back). -#}
{%- macro identity_names_swapped(a, b) -%}
    (jaro_winkler_similarity({{ a }}.surname_key, {{ b }}.given_key) >= 0.9
     and jaro_winkler_similarity({{ b }}.surname_key, {{ a }}.given_key) >= 0.9)
{%- endmacro -%}

{#- Equal, or the day and month swapped (a US-style date typed into a Russian form). -#}
{%- macro identity_dates_agree(a, b) -%}
    ({{ a }}.birth_date = {{ b }}.birth_date
     or ({{ a }}.birth_date is not null and {{ b }}.birth_date is not null
         and year({{ a }}.birth_date) = year({{ b }}.birth_date)
         and day({{ a }}.birth_date) = month({{ b }}.birth_date) and month({{ a }}.birth_date) = day({{ b }}.birth_date)))
{%- endmacro -%}

{#- Two records that cannot be one person: different given names (diminutives and
    transliterations forgiven), different birth dates, or different surnames with no birth date
    to say it is one woman under her maiden and married name. -#}
{%- macro identity_records_conflict(a, b) -%}
    (not coalesce({{ identity_names_swapped(a, b) }}, false) and (
        coalesce(not {{ identity_given_agree(a, b) }}, false)
        or coalesce({{ identity_lone_name_conflicts(a, b) }}, false)
        or coalesce(not {{ identity_dates_agree(a, b) }}, false)
        or (coalesce(not {{ identity_surname_agree(a, b) }}, false)
            and not coalesce({{ identity_dates_agree(a, b) }}, false))
    ))
{%- endmacro -%}

{#- Both named, and the names agree (used where the identifier alone is not enough: a repaired
    e-mail). -#}
{%- macro identity_names_agree(a, b) -%}
    ((coalesce({{ identity_surname_agree(a, b) }}, false) and coalesce({{ identity_given_agree(a, b) }}, false))
     or coalesce({{ identity_names_swapped(a, b) }}, false))
{%- endmacro -%}
