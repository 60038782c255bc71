//! Enums stored as text (states, audit actions): one macro gives each its
//! text, its parse (an unknown text in storage is corrupt data, named by
//! field, never echoed) and `Display`.

/// `text_enum!(Type { Variant => "text", ... })` for an enum declared beside it.
#[macro_export]
macro_rules! text_enum {
    ($ty:ident { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),* }
            }

            /// Parses a stored value; anything else is corrupt data.
            pub fn parse(field: &str, value: &str) -> $crate::Result<Self> {
                match value {
                    $($name => Ok($ty::$variant),)*
                    _ => Err($crate::Error::Corrupt(format!("{field}: unknown value"))),
                }
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.as_str().to_owned()
            }
        }
    };
}
