{#- One rule for every source: trim, lower-case; `email_issue` says why an address is unusable. -#}
{% macro normalize_email(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{% macro email_issue(column) -%}
    case
        when nullif(trim({{ column }}), '') is null then null
        when not regexp_matches(lower(trim({{ column }})), '^[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}$') then 'not an e-mail address'
    end
{%- endmacro %}


{#- The local parts of a role mailbox (a team's address, not a person's): never used to link. -#}
{% macro role_mailbox_pattern() -%}
^(info|sales|admin|office|support|noreply|no-reply|mail|zakaz|order|shop)@
{%- endmacro %}
