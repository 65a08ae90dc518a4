-- Guide 001 (Quick Chat, Video & Diagnostic Sessions) names its schema file
-- (supabase/2025-10-19_sessions_chat.sql) without printing it: these tables are built from the
-- columns and rules the guide describes: sessions.type chat/video/diagnostic with a plan
-- (chat10, video15, diagnostic) and a status, created by the Stripe webhook with its metadata
-- (intake_id, customer_email); session_participants (session_id, user_id, role customer or
-- mechanic, inserted by hand for mechanics); chat_messages (sender_id = the user's id), and the
-- RLS sketch of its "RLS Security Model" section.
CREATE TABLE sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz,
  type text NOT NULL CHECK (type IN ('chat', 'video', 'diagnostic')),
  plan text NOT NULL,
  status text NOT NULL DEFAULT 'pending',
  stripe_session_id text UNIQUE,
  metadata jsonb DEFAULT '{}'::jsonb
);
CREATE TABLE session_participants (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES auth.users(id),
  role text NOT NULL CHECK (role IN ('customer', 'mechanic')),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (session_id, user_id)
);
CREATE TABLE chat_messages (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  sender_id uuid NOT NULL REFERENCES auth.users(id),
  content text NOT NULL,
  attachments jsonb DEFAULT '[]'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_messages_session_created ON chat_messages(session_id, created_at);

ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE session_participants ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY "participants see their sessions" ON sessions FOR SELECT USING (
  EXISTS (SELECT 1 FROM session_participants p WHERE p.session_id = sessions.id AND p.user_id = auth.uid())
);
CREATE POLICY "participants see participants" ON session_participants FOR SELECT USING (
  EXISTS (SELECT 1 FROM session_participants p WHERE p.session_id = session_participants.session_id AND p.user_id = auth.uid())
);
CREATE POLICY "participants read and write messages" ON chat_messages FOR ALL USING (
  EXISTS (SELECT 1 FROM session_participants p WHERE p.session_id = chat_messages.session_id AND p.user_id = auth.uid())
  AND sender_id = auth.uid()
);
