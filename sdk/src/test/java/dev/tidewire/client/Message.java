package dev.tidewire.client;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Objects;

/** The seed article's message: {@code {"Uid": ..., "Val": ...}}; other fields are ignored. */
@JsonIgnoreProperties(ignoreUnknown = true)
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
        return o instanceof Message m && Objects.equals(m.uid, uid) && Objects.equals(m.val, val);
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
