"""`parlour import`: existing chat data from the Supabase tables of the setup guides, brought into
Parlour's model (docs/migrating-from-supabase.md).

- `sources`: reading a source (a PostgreSQL URL or a folder of CSV exports), table by table;
- `values`: turning a source cell into a Parlour value, or a clear reason why not;
- `plans`: what one source row becomes (a person, a conversation, a message);
- `systems`: one module per source layout, mapping its tables to plans;
- `repository`: the `import_keys` bookkeeping (source row -> Parlour row);
- `service`: running the plans through the domains' services in committed batches;
- `cli`: the command, its progress bar and its report.
"""
