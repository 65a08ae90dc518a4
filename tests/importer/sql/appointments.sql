-- Guide 003 (Stream Chat Integration): its tables reference `appointments(id)`, which the guide
-- does not create; its RLS policies and closing rules name the columns individual_id and
-- volunteer_id (text: auth.uid()::text), start_time, end_time and a status that can be
-- cancelled. This stub table is built from those names (not from the guide's SQL).
CREATE TABLE appointments (
  id SERIAL PRIMARY KEY,
  individual_id TEXT NOT NULL,
  volunteer_id TEXT NOT NULL,
  start_time TIMESTAMP WITH TIME ZONE NOT NULL,
  end_time TIMESTAMP WITH TIME ZONE NOT NULL,
  status TEXT NOT NULL DEFAULT 'scheduled',
  created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

-- From here on: the guide's own SQL, copied unchanged.
CREATE TABLE appointment_chats (
  id SERIAL PRIMARY KEY,
  appointment_id INTEGER NOT NULL REFERENCES appointments(id) ON DELETE CASCADE,
  stream_channel_id TEXT NOT NULL UNIQUE,
  created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
  closed_at TIMESTAMP WITH TIME ZONE,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
  created_by TEXT NOT NULL DEFAULT 'system'
);

-- Add index for performance
CREATE INDEX idx_appointment_chats_appointment_id ON appointment_chats(appointment_id);
CREATE INDEX idx_appointment_chats_status ON appointment_chats(status);
CREATE INDEX idx_appointment_chats_stream_channel_id ON appointment_chats(stream_channel_id);
CREATE TABLE chat_logs (
  id SERIAL PRIMARY KEY,
  appointment_id INTEGER NOT NULL REFERENCES appointments(id) ON DELETE CASCADE,
  stream_message_id TEXT NOT NULL,
  sender_id TEXT NOT NULL,
  content TEXT NOT NULL,
  message_type TEXT NOT NULL DEFAULT 'text' CHECK (message_type IN ('text', 'system', 'bot')),
  created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
  is_system_message BOOLEAN DEFAULT FALSE
);

-- Add indexes for performance
CREATE INDEX idx_chat_logs_appointment_id ON chat_logs(appointment_id);
CREATE INDEX idx_chat_logs_stream_message_id ON chat_logs(stream_message_id);
CREATE INDEX idx_chat_logs_sender_id ON chat_logs(sender_id);
CREATE INDEX idx_chat_logs_created_at ON chat_logs(created_at);
-- Enable RLS
ALTER TABLE appointment_chats ENABLE ROW LEVEL SECURITY;

-- Users can view their own appointment chats
CREATE POLICY "Users can view their own appointment chats" ON appointment_chats
  FOR SELECT USING (
    appointment_id IN (
      SELECT id FROM appointments 
      WHERE individual_id = auth.uid()::text OR volunteer_id = auth.uid()::text
    )
  );

-- System can manage all chats
CREATE POLICY "System can manage all appointment chats" ON appointment_chats
  FOR ALL USING (created_by = 'system');

-- Service role has full access
CREATE POLICY "Service role has full access to appointment chats" ON appointment_chats
  FOR ALL USING (auth.role() = 'service_role');
-- Enable RLS
ALTER TABLE chat_logs ENABLE ROW LEVEL SECURITY;

-- Users can view logs for their own appointments
CREATE POLICY "Users can view chat logs for their own appointments" ON chat_logs
  FOR SELECT USING (
    appointment_id IN (
      SELECT id FROM appointments 
      WHERE individual_id = auth.uid()::text OR volunteer_id = auth.uid()::text
    )
  );

-- System can manage all logs
CREATE POLICY "System can manage all chat logs" ON chat_logs
  FOR ALL USING (is_system_message = true);

-- Service role has full access
CREATE POLICY "Service role has full access to chat logs" ON chat_logs
  FOR ALL USING (auth.role() = 'service_role');
