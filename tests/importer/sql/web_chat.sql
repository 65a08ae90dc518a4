-- Guide 002 (Chat Connection Status) runs supabase_schema.sql, fix_foreign_keys.sql and
-- fix_user_sessions_columns.sql without printing them: these tables are built from what it
-- describes. user_sessions tracks session_id, customer_name, customer_phone, channel (the fix
-- changed 'web' to 'web-chat') and status, plus the added channel and is_anonymous columns;
-- chat_messages holds user, agent and system messages and image uploads; tickets are created
-- from a chat, linked by session_id, assigned to an available agent, filtered by channel;
-- agents are found by availability.
CREATE TABLE agents (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  email text UNIQUE,
  status text NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'busy', 'offline')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE user_sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id text NOT NULL UNIQUE,
  customer_name text,
  customer_phone text,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- fix_user_sessions_columns.sql
ALTER TABLE user_sessions ADD COLUMN channel text NOT NULL DEFAULT 'web-chat'
  CHECK (channel IN ('web-chat', 'whatsapp', 'sms', 'email'));
ALTER TABLE user_sessions ADD COLUMN is_anonymous boolean NOT NULL DEFAULT false;

CREATE TABLE chat_messages (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id text NOT NULL,
  sender_type text NOT NULL CHECK (sender_type IN ('user', 'agent', 'system')),
  sender_id uuid,
  message text,
  image_url text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE tickets (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id text,
  subject text,
  channel text NOT NULL DEFAULT 'web-chat',
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'resolved', 'closed')),
  priority text NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
  assigned_agent_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  resolved_at timestamptz
);
-- fix_foreign_keys.sql
ALTER TABLE chat_messages ADD CONSTRAINT chat_messages_session_fk
  FOREIGN KEY (session_id) REFERENCES user_sessions(session_id) ON DELETE CASCADE;
ALTER TABLE tickets ADD CONSTRAINT tickets_session_fk
  FOREIGN KEY (session_id) REFERENCES user_sessions(session_id) ON DELETE SET NULL;
ALTER TABLE tickets ADD CONSTRAINT tickets_agent_fk
  FOREIGN KEY (assigned_agent_id) REFERENCES agents(id) ON DELETE SET NULL;
