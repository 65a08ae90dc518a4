-- Guide 004 (Database Setup for WhatsApp Integration) applies
-- migrations/001_create_conversations_messages.sql without printing it: these tables are
-- built from what it describes. conversations between customers and distributors (foreign
-- keys to both, which must exist first), channels WhatsApp/SMS/Email, an AI context summary
-- and an unread count; messages of type Text/Media/Audio/File with AI processing fields and
-- the Twilio message id; `CREATE TABLE IF NOT EXISTS`, the listed indexes and distributor RLS.
CREATE TABLE IF NOT EXISTS distributors (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  email text UNIQUE,
  phone text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS customers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  distributor_id uuid REFERENCES distributors(id),
  name text,
  phone text NOT NULL,
  email text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS conversations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  customer_id uuid NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  distributor_id uuid NOT NULL REFERENCES distributors(id) ON DELETE CASCADE,
  channel text NOT NULL DEFAULT 'whatsapp' CHECK (channel IN ('whatsapp', 'sms', 'email')),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived', 'closed')),
  ai_context_summary text,
  unread_count integer NOT NULL DEFAULT 0,
  last_message_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS messages (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  sender_type text NOT NULL CHECK (sender_type IN ('customer', 'distributor', 'ai')),
  message_type text NOT NULL DEFAULT 'Text' CHECK (message_type IN ('Text', 'Media', 'Audio', 'File')),
  content text,
  media_url text,
  external_message_id text,
  ai_processed boolean NOT NULL DEFAULT false,
  ai_processing_status text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_conversations_customer ON conversations(customer_id);
CREATE INDEX IF NOT EXISTS idx_conversations_distributor ON conversations(distributor_id);
CREATE INDEX IF NOT EXISTS idx_conversations_channel ON conversations(channel);
CREATE INDEX IF NOT EXISTS idx_messages_created_at ON messages(conversation_id, created_at);
CREATE INDEX IF NOT EXISTS idx_messages_ai_status ON messages(ai_processing_status);
CREATE INDEX IF NOT EXISTS idx_messages_external_id ON messages(external_message_id);
ALTER TABLE conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY "distributors see their conversations" ON conversations
  FOR ALL USING (distributor_id = auth.uid());
CREATE POLICY "distributors see their messages" ON messages
  FOR ALL USING (conversation_id IN (SELECT id FROM conversations WHERE distributor_id = auth.uid()));
