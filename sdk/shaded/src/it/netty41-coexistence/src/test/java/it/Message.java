package it;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Objects;

/** The README's message: {@code {"Uid": ..., "Val": ...}}. */
public final class Message {
    @JsonProperty("Uid")
    public String uid;
    @JsonProperty("Val")
    public String val;

    public Message() {
    }

    public Message(String uid, String val) {
        this.uid = uid;
        this.val = val;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Message m && Objects.equals(uid, m.uid) && Objects.equals(val, m.val);
    }

    @Override
    public int hashCode() {
        return Objects.hash(uid, val);
    }

    @Override
    public String toString() {
        return "Message[" + uid + ", " + val + "]";
    }
}
